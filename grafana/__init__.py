"""Grafana boards of the operations centre, kept as code (next milestone)."""
