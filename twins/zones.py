"""Watched zones of a camera: the ``zones`` feature's ``zones`` property, validated.

A zone is a polygon in **normalised frame coordinates** — ``x`` from 0 (left edge) to 1
(right edge), ``y`` from 0 (top) to 1 (bottom) — so it holds whatever size the camera
streams at. ``desk`` zones expect a person during their ``hours`` (office hours; every hour
when absent); ``restricted`` zones allow nobody inside their ``hours`` (the window in which
a person inside is an intrusion; every hour when absent). Hours are the site's local time
(``Asia/Ho_Chi_Minh``); a window whose end is before its start runs past midnight and
belongs to the day it starts.

`parse_zones` keeps every valid zone and refuses each bad one with a message naming the
camera, the zone and the field (a polygon that crosses itself, leaves the frame, an
unknown type, …), so one bad zone never silences the others.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

import shapely
from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, field_validator
from shapely.geometry import Polygon
from shapely.validation import explain_validity

from twins.kinds import Weekday
from twins.validation import dotted, problems

SITE_TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")


class ZoneType(StrEnum):
    DESK = "desk"
    """A person is expected there during ``hours``."""
    RESTRICTED = "restricted"
    """Nobody is allowed inside during ``hours``."""


_WEEK = tuple(Weekday)


class Hours(BaseModel):
    """A daily window of local time on some days of the week."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: dt.time = Field(description="local start time, e.g. 07:30")
    end: dt.time = Field(description="local end time; before start: the window ends next day")
    days: tuple[Weekday, ...] = Field(default=_WEEK, description="days the window starts on")

    def contains(self, epoch: float, tz: dt.tzinfo = SITE_TIMEZONE) -> bool:
        """Whether the instant ``epoch`` (seconds) falls in the window, in ``tz``."""
        local = dt.datetime.fromtimestamp(epoch, tz)
        now, today = local.time(), Weekday.of(local.weekday())
        yesterday = Weekday.of(local.weekday() - 1)
        if self.start <= self.end:
            return today in self.days and self.start <= now < self.end
        return (today in self.days and now >= self.start) or (
            yesterday in self.days and now < self.end
        )


class Zone(BaseModel):
    """One watched zone of a camera."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="unique within the camera")
    type: ZoneType
    polygon: tuple[tuple[float, float], ...] = Field(
        min_length=3, description="[[x, y], …] in normalised frame coordinates (0–1)"
    )
    hours: Hours | None = Field(default=None, description="desk: office hours; restricted: when")

    @field_validator("polygon")
    @classmethod
    def _a_simple_polygon_in_the_frame(
        cls, polygon: tuple[tuple[float, float], ...]
    ) -> tuple[tuple[float, float], ...]:
        outside = [point for point in polygon if not all(0.0 <= v <= 1.0 for v in point)]
        if outside:
            x, y = outside[0]
            raise ValueError(
                f"point [{x:g}, {y:g}] is outside the frame (coordinates are 0–1, normalised)"
            )
        shape = Polygon(polygon)
        if not shape.is_valid:
            raise ValueError(f"not a simple polygon: {explain_validity(shape)}")
        if shape.area <= 0:
            raise ValueError("the polygon has no area")
        return polygon

    def shape(self) -> Polygon:
        """The polygon as shapely geometry, prepared for many containment tests."""
        polygon = Polygon(self.polygon)
        shapely.prepare(polygon)
        return polygon

    def watched_at(self, epoch: float) -> bool:
        """Whether ``hours`` apply at ``epoch`` (always without hours)."""
        return self.hours is None or self.hours.contains(epoch)


@dataclass(slots=True, frozen=True)
class ZoneError:
    """A refused zone: which one and why, worded for the operator who drew it."""

    camera: str
    zone: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"camera {self.camera}: zone {self.zone!r}: {self.field}: {self.message}"


def parse_zones(camera: str, raw: JsonValue) -> tuple[list[Zone], list[ZoneError]]:
    """The valid zones of ``raw`` (the ``zones`` property) and a refusal per bad one."""
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        return [], [ZoneError(camera, "*", "zones", "must be a list of zones")]
    zones: list[Zone] = []
    errors: list[ZoneError] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        name = str(item.get("id")) if isinstance(item, dict) and "id" in item else f"#{index}"
        try:
            zone = Zone.model_validate(item)
        except ValidationError as exc:
            for problem in problems(exc):
                field = dotted(problem.loc) or "zone"
                errors.append(ZoneError(camera, name, field, problem.message))
            continue
        if zone.id in seen:
            errors.append(ZoneError(camera, name, "id", "another zone has this id"))
            continue
        seen.add(zone.id)
        zones.append(zone)
    return zones, errors
