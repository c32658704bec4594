"""The alert store's tables as SQLAlchemy 2 typed ORM classes.

The schema itself is created and changed only by the Alembic migrations in
``analytics/alerts/migrations`` (``tests/analytics/alerts/test_store_open.py`` checks that
both agree). Times are stored in UTC and always read back timezone-aware, on SQLite too
(``UtcDateTime``).

One alert per key is open at a time, and the database enforces it: a partial unique index
on ``alerts.key`` covers every alert that is not resolved, so two processes racing to open
the same key cannot both succeed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NOT_RESOLVED = text("state <> 'resolved'")
"""The predicate of the partial unique index: the alerts that still count as open."""


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given to the alert store")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JsonDocument = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        dict[str, Any]: JsonDocument,
    }


class AlertRow(Base):
    """One alert: what was detected, where, and where it is in its life."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index(
            "uq_alerts_open_key",
            "key",
            unique=True,
            sqlite_where=NOT_RESOLVED,
            postgresql_where=NOT_RESOLVED,
        ),
        Index("ix_alerts_state_site", "state", "site"),
        Index("ix_alerts_key_opened", "key", "opened_at"),
        Index("ix_alerts_escalate_at", "escalate_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(400))
    rule_type: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    site: Mapped[str] = mapped_column(String(200))
    sector: Mapped[str] = mapped_column(String(100))
    device: Mapped[str] = mapped_column(String(200))
    zone: Mapped[str] = mapped_column(String(200))
    opened_at: Mapped[datetime]
    """Event time at which the condition began to hold."""
    recorded_at: Mapped[datetime]
    """The centre's clock when the store opened the alert."""
    last_signal_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolution: Mapped[str | None] = mapped_column(String(16))
    assignee: Mapped[str | None] = mapped_column(String(200))
    escalation_level: Mapped[int] = mapped_column(Integer)
    escalate_at: Mapped[datetime | None]
    """When the alert escalates unless acknowledged first (None: never)."""
    evidence_path: Mapped[str | None] = mapped_column(String(500))
    message_vi: Mapped[str] = mapped_column(Text)
    message_en: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]]


class HistoryRow(Base):
    """One thing that happened to an alert: a transition or an action, who, when, a note.

    Rows of transitions (opened, acknowledged, resolved, escalated) are also the outbox of
    the InfluxDB ``alert`` points: ``point_pending`` stays true until the point is written;
    and of the notices: ``notice_pending`` stays true until the analytics process has handed
    the transition to its notifiers and the device twin's summary (`analytics.alerts.outbox`).
    """

    __tablename__ = "alert_history"
    __table_args__ = (
        Index("ix_alert_history_alert", "alert_id", "id"),
        Index("ix_alert_history_pending", "point_pending"),
        Index("ix_alert_history_notice_pending", "notice_pending"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(String(32), ForeignKey("alerts.id"))
    at: Mapped[datetime]
    """When it happened: event time for what signals do, the centre's clock otherwise."""
    recorded_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(16))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    escalation_level: Mapped[int] = mapped_column(Integer)
    resolution: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]]
    point_pending: Mapped[bool] = mapped_column(Boolean)
    notice_pending: Mapped[bool] = mapped_column(Boolean, server_default=false())


class SignalRow(Base):
    """Every signal applied, with what it did: the redelivery guard and the audit of
    signals that opened nothing (suppressed by maintenance, cleared with no alert open)."""

    __tablename__ = "alert_signals"
    __table_args__ = (
        UniqueConstraint("key", "at", "active", name="uq_alert_signals_key_at_active"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(400))
    at: Mapped[datetime]
    active: Mapped[bool] = mapped_column(Boolean)
    outcome: Mapped[str] = mapped_column(String(16))
    alert_id: Mapped[str | None] = mapped_column(String(32))
    window_id: Mapped[int | None] = mapped_column(Integer)
    severity: Mapped[str] = mapped_column(String(16))
    site: Mapped[str] = mapped_column(String(200))
    device: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime]


class MaintenanceWindowRow(Base):
    """A period in which a site (or one device of it) raises no alerts."""

    __tablename__ = "maintenance_windows"
    __table_args__ = (Index("ix_maintenance_windows_site", "site", "starts_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(200))
    device: Mapped[str | None] = mapped_column(String(200))
    """None: the whole site."""
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
