"""The rule files: one per site (or site pattern) and device kind, validated at load.

::

    site: "thaibinh.flood"          # a site id, or a pattern: "thaibinh.school*"
    kind: sensor
    rules:
      - id: flood-water-level
        type: threshold
        field: water_level_cm
        above: 250
        clear_at: 237.5               # hysteresis: clears at or below this
        min_duration_s: 0
        severity: critical

Each rule type has its own model (``extra="forbid"``: a misspelt key is an error, not a
silently ignored option); a rule type that makes no sense for the file's ``kind`` (an
intrusion rule for sensors) is refused at ``rules[i].type``. A calendar named by a rule
must exist in the rule directory's ``calendars.yaml``, and a rule id is unique in the
whole directory — both are checked while the file is validated (`load_context`), so the
error names the file, the line and the field like any other.
"""

from __future__ import annotations

import contextlib
import fnmatch
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PlainSerializer,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from analytics.alerts.model import RAISED_BY_RULES, RuleType, Severity
from analytics.rules.calendar import CalendarSpec
from twins.kinds import DeviceKind


def _severity(value: Any) -> Any:
    return Severity.parse(value) if isinstance(value, str) else value


SeverityName = Annotated[
    Severity, BeforeValidator(_severity), PlainSerializer(lambda s: s.label, return_type=str)
]
"""A severity written by name in files: ``info``, ``warning``, ``major``, ``critical``."""

RuleId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.\-]{0,63}$")]
DevicePattern = Annotated[str, Field(min_length=1, max_length=200)]


class SensorField(StrEnum):
    """The measurements of `twins.payloads.SensorTelemetry`."""

    TEMPERATURE_C = "temperature_c"
    HUMIDITY_PCT = "humidity_pct"
    PM25_UGM3 = "pm25_ugm3"
    NOISE_DBA = "noise_dba"
    WATER_LEVEL_CM = "water_level_cm"


@dataclass(slots=True)
class LoadContext:
    """What a rule file is checked against beyond its own text (set by the loader)."""

    calendars: frozenset[str] = frozenset()
    rule_files: dict[str, str] = field(default_factory=dict)
    """Rule id → the file that defines it, for the files validated so far."""
    file: str = ""


_CONTEXT: ContextVar[LoadContext | None] = ContextVar("rule_load_context", default=None)


@contextlib.contextmanager
def load_context(context: LoadContext) -> Iterator[LoadContext]:
    """Validate rule files against ``context`` (calendars, rule ids of other files)."""
    token = _CONTEXT.set(context)
    try:
        yield context
    finally:
        _CONTEXT.reset(token)


def _known_calendar(name: str | None) -> str | None:
    context = _CONTEXT.get()
    if name is not None and context is not None and name not in context.calendars:
        known = ", ".join(sorted(context.calendars)) or "none: add calendars.yaml"
        raise ValueError(f"no calendar {name!r} in calendars.yaml (known: {known})")
    return name


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: RuleId = Field(description="Unique in the rule directory; the alert key's rule.")
    severity: SeverityName = Field(default=Severity.WARNING, description="Of the alert raised.")
    devices: tuple[DevicePattern, ...] = Field(
        default=("*",),
        description="Device names (or thing ids) the rule watches; shell patterns allowed.",
    )
    enabled: bool = Field(default=True, description="A disabled rule raises nothing.")
    description: str = Field(default="", description="What the rule is for, for operators.")

    @field_validator("id")
    @classmethod
    def _unique(cls, value: str) -> str:
        context = _CONTEXT.get()
        if context is not None:
            other = context.rule_files.get(value)
            if other is not None and other != context.file:
                raise ValueError(f"rule id {value!r} is already defined in {other}")
        return value

    def watches(self, thing_id: str) -> bool:
        """Whether ``thing_id`` (``namespace:name``) is one of ``devices``."""
        name = thing_id.partition(":")[2]
        return any(
            fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(thing_id, pattern)
            for pattern in self.devices
        )


class ThresholdRule(_Rule):
    """A measurement above (or below) a limit, with hysteresis and a minimum duration."""

    type: Literal[RuleType.THRESHOLD]
    field: SensorField = Field(description="The telemetry field watched.")
    above: float | None = Field(default=None, description="Raise when the value exceeds this.")
    below: float | None = Field(default=None, description="Raise when the value is under this.")
    clear_at: float | None = Field(
        default=None,
        description="Clear when the value is back at or past this (default: 5 % inside).",
    )
    min_duration_s: float = Field(
        default=0.0, ge=0, le=86_400, description="Raise only past the limit this long."
    )

    @model_validator(mode="after")
    def _one_limit(self) -> ThresholdRule:
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of `above` and `below`")
        if self.clear_at is not None:
            if self.above is not None and self.clear_at > self.above:
                raise ValueError("`clear_at` must not be above `above` (it is the hysteresis)")
            if self.below is not None and self.clear_at < self.below:
                raise ValueError("`clear_at` must not be below `below` (it is the hysteresis)")
        return self

    @property
    def limit(self) -> float:
        value = self.above if self.above is not None else self.below
        assert value is not None
        return value

    @property
    def clear_limit(self) -> float:
        if self.clear_at is not None:
            return self.clear_at
        return self.limit - abs(self.limit) * 0.05 * (1 if self.above is not None else -1)


class StuckRule(_Rule):
    """A sensor repeating the same value: at least ``minutes`` long and ``samples`` times."""

    type: Literal[RuleType.STUCK]
    fields: tuple[SensorField, ...] = Field(
        default=(), description="Fields compared (all the sensor sends when empty)."
    )
    minutes: float = Field(default=30.0, gt=0, le=7 * 24 * 60)
    samples: int = Field(default=5, ge=2, le=100_000, description="Identical samples at least.")
    tolerance: float = Field(default=0.0, ge=0, description="Largest change still 'the same'.")


class OfflineRule(_Rule):
    """A device that said it is offline, or was silent for ``intervals`` report intervals."""

    type: Literal[RuleType.OFFLINE]
    intervals: float = Field(default=3.0, gt=1, le=1000, description="Silence, in intervals.")
    interval_s: float | None = Field(
        default=None,
        gt=0,
        le=86_400,
        description="Report interval; else the device's state `report_interval_s`, else its"
        " kind's (twins.kinds.REPORT_INTERVAL_SECONDS).",
    )
    on_status: bool = Field(default=True, description="Raise at once on a status `offline`.")


class StreamDownRule(_Rule):
    """A camera stream the video hub cannot pull (or that the camera says runs at 0 fps)."""

    type: Literal[RuleType.STREAM_DOWN]
    min_down_s: float = Field(default=60.0, ge=0, le=86_400, description="Down this long.")
    min_fps: float | None = Field(
        default=None, ge=0, le=240, description="Also down when camera telemetry `fps` is below."
    )


class DeskCamera(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    camera: DevicePattern = Field(description="Camera name (same site) or thing id.")
    zone: str | None = Field(default=None, description="Its desk zone (any desk zone if absent).")


class OfficerAbsenceRule(_Rule):
    """The desk empty for ``minutes`` while the counter is open, in calendar hours."""

    type: Literal[RuleType.OFFICER_ABSENCE]
    minutes: float = Field(default=5.0, gt=0, le=24 * 60)
    calendar: str | None = Field(default=None, description="Calendar (the file's if absent).")
    desks: dict[str, DeskCamera] = Field(
        default_factory=dict,
        description="Counter name → the camera watching its desk (besides cameras whose"
        " registry attribute `watches` names the counter).",
    )

    _calendar = field_validator("calendar")(_known_calendar)


class IntrusionRule(_Rule):
    """Someone in a restricted zone inside its hours (the presence event's ``watched``)."""

    type: Literal[RuleType.INTRUSION]
    zones: tuple[str, ...] = Field(default=("*",), description="Zone ids; patterns allowed.")
    min_people: int = Field(default=1, ge=1, le=1000)


class QueueOverloadRule(_Rule):
    """Too many waiting, or too long an estimated wait, for ``min_duration_s``."""

    type: Literal[RuleType.QUEUE_OVERLOAD]
    max_waiting: int | None = Field(default=None, ge=0, description="Counter `waiting`/kiosk.")
    max_wait_minutes: float | None = Field(
        default=None, gt=0, description="Waiting × mean service time of the counter."
    )
    service_minutes: float = Field(
        default=10.0, gt=0, description="Service time assumed before any is measured."
    )
    min_duration_s: float = Field(default=300.0, ge=0, le=86_400)
    calendar: str | None = Field(default=None, description="Calendar (the file's if absent).")

    _calendar = field_validator("calendar")(_known_calendar)

    @model_validator(mode="after")
    def _a_target(self) -> QueueOverloadRule:
        if self.max_waiting is None and self.max_wait_minutes is None:
            raise ValueError("give `max_waiting`, `max_wait_minutes` or both")
        return self


class GhostBookingRule(_Rule):
    """A booking started and nobody came within ``grace_minutes``."""

    type: Literal[RuleType.GHOST_BOOKING]
    grace_minutes: float = Field(default=15.0, gt=0, le=24 * 60)


class UnbookedUseRule(_Rule):
    """People in a room for ``min_minutes`` without a booking."""

    type: Literal[RuleType.UNBOOKED_USE]
    min_minutes: float = Field(default=15.0, gt=0, le=24 * 60)
    min_people: int = Field(default=1, ge=1, le=10_000)


Rule = Annotated[
    ThresholdRule
    | StuckRule
    | OfflineRule
    | StreamDownRule
    | OfficerAbsenceRule
    | IntrusionRule
    | QueueOverloadRule
    | GhostBookingRule
    | UnbookedUseRule,
    Field(discriminator="type"),
]

RULE_KINDS: dict[RuleType, frozenset[DeviceKind]] = {
    RuleType.THRESHOLD: frozenset({DeviceKind.SENSOR}),
    RuleType.STUCK: frozenset({DeviceKind.SENSOR}),
    RuleType.OFFLINE: frozenset(DeviceKind),
    RuleType.STREAM_DOWN: frozenset({DeviceKind.CAMERA}),
    RuleType.OFFICER_ABSENCE: frozenset({DeviceKind.COUNTER}),
    RuleType.INTRUSION: frozenset({DeviceKind.CAMERA}),
    RuleType.QUEUE_OVERLOAD: frozenset({DeviceKind.COUNTER, DeviceKind.KIOSK}),
    RuleType.GHOST_BOOKING: frozenset({DeviceKind.MEETING_ROOM}),
    RuleType.UNBOOKED_USE: frozenset({DeviceKind.MEETING_ROOM}),
}
"""The device kinds each rule type can watch."""

_TAGS = RAISED_BY_RULES
_TYPE_NAMES = ", ".join(t for t in RuleType if t in RAISED_BY_RULES)


class RuleFile(BaseModel):
    """One rule file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    site: Annotated[str, Field(min_length=1, max_length=200)] = Field(
        description="Site id, or a shell pattern of site ids."
    )
    kind: DeviceKind = Field(description="The kind of device every rule here watches.")
    calendar: str = Field(default="office", description="Calendar of rules that need one.")
    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="wrap")
    @classmethod
    def _plain_locations(cls, data: Any, handler: ModelWrapValidatorHandler[RuleFile]) -> RuleFile:
        """Drop pydantic's union tag from error locations: ``rules[0].above``, not
        ``rules[0].threshold.above``, so errors name the YAML key and find its line."""
        try:
            return handler(data)
        except ValidationError as exc:
            details: list[InitErrorDetails] = []
            for error in exc.errors(include_url=False):
                loc = tuple(error["loc"])
                if loc[:1] == ("rules",) and len(loc) > 2 and loc[2] in _TAGS:
                    loc = loc[:2] + loc[3:]
                elif error["type"] in ("union_tag_invalid", "union_tag_not_found"):
                    loc = (*loc, "type")
                message = error["msg"]
                if error["type"] == "union_tag_invalid":
                    tag = (error.get("ctx") or {}).get("tag")
                    message = f"unknown rule type {tag!r} (one of: {_TYPE_NAMES})"
                elif error["type"] == "union_tag_not_found":
                    message = f"a rule needs a `type` (one of: {_TYPE_NAMES})"
                custom = PydanticCustomError(error["type"], message)
                details.append(InitErrorDetails(type=custom, loc=loc, input=error["input"]))
            raise ValidationError.from_exception_data(cls.__name__, details) from None

    @model_validator(mode="after")
    def _rules_fit_the_kind(self) -> RuleFile:
        problems: list[InitErrorDetails] = []
        seen: set[str] = set()
        calendar_checked = False
        for index, rule in enumerate(self.rules):
            allowed = RULE_KINDS[RuleType(rule.type)]
            if self.kind not in allowed:
                kinds = ", ".join(sorted(allowed))
                message = f"{rule.type} rules watch {kinds}, not {self.kind}"
                problems.append(_problem(("rules", index, "type"), message))
            if rule.id in seen:
                message = f"rule id {rule.id!r} appears twice in this file"
                problems.append(_problem(("rules", index, "id"), message))
            seen.add(rule.id)
            uses_file_calendar = (
                isinstance(rule, OfficerAbsenceRule | QueueOverloadRule) and rule.calendar is None
            )
            if uses_file_calendar and not calendar_checked:
                calendar_checked = True
                try:
                    _known_calendar(self.calendar)
                except ValueError as exc:
                    problems.append(_problem(("calendar",), str(exc)))
        if problems:
            raise ValidationError.from_exception_data(type(self).__name__, problems)
        return self


def _problem(loc: tuple[str | int, ...], message: str) -> InitErrorDetails:
    return InitErrorDetails(type=PydanticCustomError("rule", message), loc=loc, input=None)


class CalendarFile(BaseModel):
    """``calendars.yaml`` of a rule directory."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    calendars: dict[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$")], CalendarSpec]
