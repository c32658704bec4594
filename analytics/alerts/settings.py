"""Where alerts are kept and how soon an unacknowledged alert escalates.

``AlertStoreSettings`` is a section of citytwin's settings (the shell places it); it is
declared here so that analytics does not import the shell.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from analytics.alerts.model import Severity


class EscalationSettings(BaseModel):
    """How long an open alert may wait for an acknowledgement, per severity.

    The deadline runs on the centre's clock from the moment the store opened the alert (or
    last escalated it), not from the event time: an alert that arrives late from a device's
    offline buffer still leaves operators the whole deadline to react.
    """

    model_config = ConfigDict(extra="forbid")

    info: timedelta | None = Field(
        None, description="deadline of info alerts; null: they never escalate"
    )
    warning: timedelta | None = Field(
        timedelta(minutes=60), description="deadline of warning alerts; null: never"
    )
    major: timedelta | None = Field(
        timedelta(minutes=15), description="deadline of major alerts; null: never"
    )
    critical: timedelta | None = Field(
        timedelta(minutes=5), description="deadline of critical alerts; null: never"
    )
    max_level: int = Field(
        3,
        ge=0,
        le=10,
        description="escalations at most per alert (each notifies the next level of people)",
    )

    @field_validator("info", "warning", "major", "critical")
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value <= timedelta(0):
            raise ValueError(f"an escalation deadline must be positive, not {value}")
        return value

    def deadline(self, severity: Severity) -> timedelta | None:
        """The acknowledgement deadline of an alert of ``severity`` (None: never escalates)."""
        deadline: timedelta | None = getattr(self, severity.label)
        return deadline


class AlertStoreSettings(BaseModel):
    """The alert database, the evidence directory and the escalation deadlines."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        "",
        description="SQLAlchemy URL of the alert store: empty for the embedded SQLite file"
        " alerts/alerts.db in the state directory, sqlite:///PATH, or"
        " postgresql://USER@HOST:PORT/DATABASE (driver psycopg 3)",
    )
    password: SecretStr = Field(
        SecretStr(""),
        description="password of the PostgreSQL user, kept out of the URL (so that"
        " `config show` can print the URL)",
    )
    evidence_dir: Path | None = Field(
        None,
        description="where alert snapshots (JPEG) are kept; empty for alerts/evidence in"
        " the state directory",
    )
    escalation: EscalationSettings = Field(
        default_factory=EscalationSettings, description="acknowledgement deadlines"
    )

    def store_url(self, state_dir: Path) -> str:
        """The URL to open: the setting, or the SQLite file in ``state_dir``."""
        return self.url or f"sqlite:///{state_dir / 'alerts' / 'alerts.db'}"

    def evidence_root(self, state_dir: Path) -> Path:
        """Where snapshots go: the setting, or ``alerts/evidence`` in ``state_dir``."""
        return self.evidence_dir or state_dir / "alerts" / "evidence"
