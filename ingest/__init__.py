"""Ingest: MQTT and HTTP sources, feed parsers, the write path into TimescaleDB."""
