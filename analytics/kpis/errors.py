"""The errors of the KPI engine (tree in `analytics.kpis`)."""

from __future__ import annotations


class KpiError(Exception):
    """Base of the KPI engine's errors."""


class KpiStoreError(KpiError):
    """InfluxDB refused a query or a write, or did not answer."""
