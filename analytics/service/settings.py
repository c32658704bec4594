"""How the analytics process consumes, judges and reports (the ``analytics`` section).

The alert store, the notifications and the KPIs have sections of their own (``alerts``,
``notify``, ``kpis``: `analytics.alerts.settings`, `analytics.notify.settings`,
`analytics.kpis.settings`); this one holds what only the running process needs: which
sites it takes, where its rules are, how far back it replays after a restart and how
often its loops run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from twins.thing_id import NAMESPACE_PATTERN

SiteId = Annotated[str, Field(pattern=rf"^{NAMESPACE_PATTERN}$")]


class AnalyticsSettings(BaseModel):
    """The alert engine and the KPIs as one process (``citytwin analytics``)."""

    model_config = ConfigDict(extra="forbid")

    sites: list[SiteId] = Field(
        default_factory=list,
        description="Sites this process consumes and evaluates (empty: every site). Two"
        " processes with disjoint lists split the province between them.",
    )
    worker: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Which analytics worker this process is, of mqtt.analytics_workers: its"
        " broker accounts are {prefix}-analytics (worker 1) or {prefix}-analytics-N, each"
        " with an -alerts twin for the alerts topic.",
    )
    rules_dir: Path | None = Field(
        default=None,
        description="Directory of rule files and calendars.yaml (empty: the bundled Thái Bình"
        " rules, analytics/rules/defaults/thaibinh). Reread on change and on SIGHUP.",
    )
    rules_poll_seconds: float = Field(
        default=2.0,
        gt=0,
        le=3600,
        description="How often the rule directory and the registry file are checked.",
    )
    hold_seconds: float | None = Field(
        default=0.3,
        ge=0,
        le=60,
        description="Live: each input is evaluated this long (wall time) after it arrived,"
        " so one overtaken by a newer input by less is still placed in order; a notice follows"
        " its input by about this much, at any scenario speed. null: the event-time"
        " allowed_lateness_s alone (docs/rules.md).",
    )
    allowed_lateness_s: float = Field(
        default=30.0,
        ge=0,
        le=86400,
        description="Event time an input may arrive late and still be placed exactly (the"
        " rule engine's watermark), used when hold_seconds is null.",
    )
    lookback_minutes: float = Field(
        default=60.0,
        ge=0,
        le=7 * 24 * 60,
        description="After a restart, events are replayed from this long before the"
        " checkpoint, to rebuild the rules' state (at least the longest rule duration).",
    )
    start_lookback_hours: float = Field(
        default=1.0,
        ge=0,
        le=24 * 31,
        description="At the very first start (no checkpoint), replay this much of InfluxDB"
        " (0: start from live events only).",
    )
    checkpoint_seconds: float = Field(
        default=5.0,
        ge=0,
        le=3600,
        description="How often the checkpoint is saved (never past what the alert store"
        " holds); a restart replays at most this much more.",
    )
    idle_advance_seconds: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="When no input has come for this long, event time is advanced by the"
        " wall time that passed, so silences (offline devices, closing offices) are judged.",
    )
    bookings_poll_seconds: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="How often the rooms' bookings (the `booking` points the calendar sync"
        " writes) are read again for the room rules.",
    )
    escalation_seconds: float = Field(
        default=5.0, gt=0, le=3600, description="How often overdue alerts are escalated."
    )
    platform_seconds: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="How often the process writes its own health to InfluxDB (measurement"
        " `platform`: events, signals, notices, event-time lag).",
    )
    export_seconds: float = Field(
        default=1.0,
        gt=0,
        le=3600,
        description="How often the history outbox is drained (InfluxDB points, notices,"
        " twin summaries), also for operators' actions made through the HTTP API.",
    )
    snapshot_timeout_seconds: float = Field(
        default=3.0,
        ge=0,
        le=60,
        description="How long the video hub is given for the snapshot of a camera alert"
        " (absence, intrusion) that just opened, kept as its evidence; the alert's notices"
        " wait at most this for it. 0: no snapshots.",
    )
    compute_kpis: bool = Field(
        default=True,
        description="Recompute the KPIs here. They cover the whole province whatever"
        " `sites` says (a province KPI needs every site), so of processes split by site one"
        " computes them and the others set this false.",
    )
    health_host: str = Field(default="127.0.0.1", description="Address of GET /health.")
    health_port: int = Field(
        default=9110, ge=0, le=65535, description="Port of GET /health (0: any free port)."
    )

    @model_validator(mode="after")
    def _distinct_sites(self) -> AnalyticsSettings:
        repeated = sorted({site for site in self.sites if self.sites.count(site) > 1})
        if repeated:
            raise ValueError(f"sites names {', '.join(repeated)} more than once")
        return self
