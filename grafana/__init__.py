"""Grafana boards of the operations centre, kept as code: built, provisioned, pushed and
drawn to PNG (docs/grafana.md)."""
