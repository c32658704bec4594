"""Alembic migrations of the alert store, run by ``AlertStore.open`` (``alembic upgrade
head``) on the connection it opened; see docs/alerts.md for writing a new revision."""
