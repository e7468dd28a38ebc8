"""The simulator: live messages on real Taichung geography, for demos, drills and tests."""
