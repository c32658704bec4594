"""Alembic's environment: migrate the connection ``AlertStore.open`` hands over.

The store passes its open connection (inside a transaction, and on PostgreSQL holding an
advisory lock so that two processes never migrate at once) as ``config.attributes
["connection"]``; there is no alembic.ini and no second way to connect.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from analytics.alerts.tables import Base


def _run() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError(
            "the alert store's migrations run through AlertStore.open, which passes its"
            " connection; they have no URL of their own"
        )
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


_run()
