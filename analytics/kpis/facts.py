"""The records the KPI domains work from: event rows read from InfluxDB, and scope chains."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo

from analytics.kpis.aggregate import Chain
from analytics.kpis.intervals import Interval
from analytics.kpis.settings import OfficeCalendar
from analytics.kpis.windows import PROVINCE_TZ


@dataclass(slots=True, frozen=True)
class EventRow:
    """One point of an ``*_event`` measurement: when, which device, what, its fields."""

    t: float
    thing: str
    site: str
    sector: str
    type: str
    fields: dict[str, object] = field(default_factory=dict)

    def text(self, name: str) -> str | None:
        value = self.fields.get(name)
        return value if isinstance(value, str) else None

    def number(self, name: str) -> float | None:
        value = self.fields.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return float(value)


def device_chain(kind: str, thing: str, site: str, sector: str) -> Chain:
    """The scopes a device's contribution counts for, finest first."""
    return (f"{kind}:{thing}", f"site:{site}", f"sector:{sector}", "province")


def area_chain(site: str, sector: str) -> Chain:
    return (f"site:{site}", f"sector:{sector}", "province")


def office_sessions(
    calendar: OfficeCalendar, day: date, tz: tzinfo = PROVINCE_TZ
) -> list[Interval]:
    """The morning and afternoon sessions of ``day`` (none on a day off)."""
    if day.weekday() not in {weekday.number for weekday in calendar.days}:
        return []

    def at(moment: time) -> float:
        return datetime.combine(day, moment, tz).timestamp()

    return [
        (at(calendar.opens), at(calendar.lunch_starts)),
        (at(calendar.lunch_ends), at(calendar.closes)),
    ]
