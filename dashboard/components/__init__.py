"""Reusable pieces of the wall: tiles, the feed-health strip."""
