"""Ingest: device messages from MQTT and HTTP into InfluxDB, the twins and the event bus."""
