"""Where messages come from: MQTT (ingest.worker), HTTP pollers, files."""
