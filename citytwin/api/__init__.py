"""The alerts and KPI HTTP API (``/api/alerts``, ``/api/kpis``, ``/api/maintenance``)."""
