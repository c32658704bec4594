"""The first schema: alerts, their history, applied signals, maintenance windows.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

NOT_RESOLVED = sa.text("state <> 'resolved'")
# types written out here rather than imported from tables.py: a revision must keep
# creating the schema it created, whatever the models become
JsonDocument = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _time(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("key", sa.String(400), nullable=False),
        sa.Column("rule_type", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("sector", sa.String(100), nullable=False),
        sa.Column("device", sa.String(200), nullable=False),
        sa.Column("zone", sa.String(200), nullable=False),
        _time("opened_at"),
        _time("recorded_at"),
        _time("last_signal_at"),
        _time("acknowledged_at", nullable=True),
        sa.Column("acknowledged_by", sa.String(200), nullable=True),
        _time("resolved_at", nullable=True),
        sa.Column("resolved_by", sa.String(200), nullable=True),
        sa.Column("resolution", sa.String(16), nullable=True),
        sa.Column("assignee", sa.String(200), nullable=True),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        _time("escalate_at", nullable=True),
        sa.Column("evidence_path", sa.String(500), nullable=True),
        sa.Column("message_vi", sa.Text(), nullable=False),
        sa.Column("message_en", sa.Text(), nullable=False),
        sa.Column("details", JsonDocument, nullable=False),
    )
    op.create_index(
        "uq_alerts_open_key",
        "alerts",
        ["key"],
        unique=True,
        sqlite_where=NOT_RESOLVED,
        postgresql_where=NOT_RESOLVED,
    )
    op.create_index("ix_alerts_state_site", "alerts", ["state", "site"])
    op.create_index("ix_alerts_key_opened", "alerts", ["key", "opened_at"])
    op.create_index("ix_alerts_escalate_at", "alerts", ["escalate_at"])

    op.create_table(
        "alert_history",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.String(32), sa.ForeignKey("alerts.id"), nullable=False),
        _time("at"),
        _time("recorded_at"),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("from_state", sa.String(16), nullable=True),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("resolution", sa.String(16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("details", JsonDocument, nullable=False),
        sa.Column("point_pending", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_alert_history_alert", "alert_history", ["alert_id", "id"])
    op.create_index("ix_alert_history_pending", "alert_history", ["point_pending"])

    op.create_table(
        "alert_signals",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(400), nullable=False),
        _time("at"),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("alert_id", sa.String(32), nullable=True),
        sa.Column("window_id", sa.Integer(), nullable=True),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("device", sa.String(200), nullable=False),
        _time("received_at"),
        sa.UniqueConstraint("key", "at", "active", name="uq_alert_signals_key_at_active"),
    )

    op.create_table(
        "maintenance_windows",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("device", sa.String(200), nullable=True),
        _time("starts_at"),
        _time("ends_at"),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        _time("created_at"),
    )
    op.create_index("ix_maintenance_windows_site", "maintenance_windows", ["site", "starts_at"])


def downgrade() -> None:
    op.drop_table("maintenance_windows")
    op.drop_table("alert_signals")
    op.drop_table("alert_history")
    op.drop_table("alerts")
