"""The dashboard: Dash pages for the wall, KPIs, coverage, tasks and health."""
