"""What the KPI engine needs to know that no device reports (the ``analytics.kpis`` section).

Office hours decide the scheduled time officer availability and room utilisation are
measured against; the thresholds are the limits of "hours above limits"; the rest are the
rules of individual KPIs (the SLA's target wait, the grace of a ghost booking, …).
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, model_validator

from twins.kinds import Weekday


class OfficeCalendar(BaseModel):
    """Office hours of a Vietnamese public office, with its long lunch break."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days: tuple[Weekday, ...] = Field(
        default=(Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI),
        description="working days",
    )
    opens: dt.time = Field(default=dt.time(7, 30), description="local opening time")
    lunch_starts: dt.time = Field(
        default=dt.time(11, 45),
        description="lunch break starts (the bundled Thái Bình rules' office calendar, as"
        " the alert rules see the counters open)",
    )
    lunch_ends: dt.time = Field(default=dt.time(13, 30), description="lunch break ends")
    closes: dt.time = Field(default=dt.time(17, 0), description="local closing time")

    @model_validator(mode="after")
    def _in_order(self) -> OfficeCalendar:
        if not self.opens < self.lunch_starts <= self.lunch_ends < self.closes:
            raise ValueError(
                "office hours must satisfy opens < lunch_starts <= lunch_ends < closes"
                f" (got {self.opens}, {self.lunch_starts}, {self.lunch_ends}, {self.closes})"
            )
        return self


class KpiSettings(BaseModel):
    """Rules of the KPIs that are not in the data."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    office: OfficeCalendar = Field(
        default_factory=OfficeCalendar, description="office hours of counters and rooms"
    )
    sla_wait_minutes: float = Field(
        default=15.0, gt=0, le=480, description="a ticket meets the SLA when called within this"
    )
    login_grace_seconds: float = Field(
        default=60.0,
        ge=0,
        le=3600,
        description="a login this soon after a session opens is on time (no absence)",
    )
    ghost_grace_minutes: float = Field(
        default=15.0, gt=0, le=240, description="a booking nobody uses this long is a ghost"
    )
    on_time_minutes: float = Field(
        default=5.0, ge=0, le=120, description="a meeting that starts this late is on time"
    )
    limits: dict[str, float] = Field(
        default_factory=lambda: {
            "temperature_c": 35.0,
            "pm25_ugm3": 55.0,
            "noise_dba": 80.0,
            "water_level_cm": 250.0,
        },
        description="sensor field → limit of 'hours above limits'",
    )
    release_fraction: float = Field(
        default=0.95,
        gt=0,
        le=1,
        description="an excursion ends when the value falls to this fraction of the limit",
    )
    retention_policy: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="retention policy the kpi points are written to (None: the database's"
        " default, which keeps raw data 30 days; months need a longer one)",
    )
    recompute_seconds: float = Field(
        default=60.0, gt=0, description="how often dirty windows are recomputed"
    )

    @model_validator(mode="after")
    def _known_fields(self) -> KpiSettings:
        known = {"temperature_c", "humidity_pct", "pm25_ugm3", "noise_dba", "water_level_cm"}
        unknown = sorted(set(self.limits) - known)
        if unknown:
            raise ValueError(
                f"limits name unknown sensor fields {unknown} (known: {', '.join(sorted(known))})"
            )
        return self
