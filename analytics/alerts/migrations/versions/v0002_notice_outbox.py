"""The notice outbox: ``alert_history.notice_pending``.

Transitions are handed to the notifiers and the device twins' ``alerts`` summary by the
analytics process, whichever process made them (a signal, the escalation, an operator
through the HTTP API). The flag is separate from ``point_pending`` so that notices do not
wait while InfluxDB is away. Rows written before this revision are not pending: their
notices, if any, were sent by whoever made them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("alert_history") as batch:
        batch.add_column(
            sa.Column("notice_pending", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.create_index("ix_alert_history_notice_pending", ["notice_pending"])


def downgrade() -> None:
    with op.batch_alter_table("alert_history") as batch:
        batch.drop_index("ix_alert_history_notice_pending")
        batch.drop_column("notice_pending")
