"""The alert vocabulary shared by the rules, the store and the notifiers.

A rule evaluator only says *that* a condition holds or has cleared for a key, at an event
time (`AlertSignal`); the lifecycle turns signals into alerts with a state and a history;
notifiers tell people. Keeping these records here lets each of those parts be written and
tested alone.

One alert per `AlertKey` (rule + device + zone) is open at a time: a signal for a key that
already has an open or acknowledged alert updates it instead of raising a second one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any


class RuleType(StrEnum):
    """What raised an alert: a kind of condition a rule watches, or an intake that raises
    alerts itself (``RAISED_BY_INTAKE``: a citizen report). Rule files may use only the
    first (``RAISED_BY_RULES``)."""

    THRESHOLD = "threshold"
    STUCK = "stuck"
    OFFLINE = "offline"
    STREAM_DOWN = "stream_down"
    OFFICER_ABSENCE = "officer_absence"
    INTRUSION = "intrusion"
    QUEUE_OVERLOAD = "queue_overload"
    GHOST_BOOKING = "ghost_booking"
    UNBOOKED_USE = "unbooked_use"
    CITIZEN_REPORT = "citizen_report"


RAISED_BY_INTAKE: frozenset[RuleType] = frozenset({RuleType.CITIZEN_REPORT})
"""Alert types no rule file declares: the intake that receives them raises the alert."""
RAISED_BY_RULES: frozenset[RuleType] = frozenset(RuleType) - RAISED_BY_INTAKE
"""The types a rule file's ``type`` may name (``analytics.rules.config``)."""


class Severity(IntEnum):
    """How urgent an alert is; ordered, so escalation can raise it one step."""

    INFO = 1
    WARNING = 2
    MAJOR = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        """The lower-case name used in files, topics and InfluxDB tags."""
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        """``"major"`` → ``Severity.MAJOR``; ValueError naming the accepted words otherwise."""
        try:
            return cls[text.upper()]
        except KeyError:
            words = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {text!r} (one of: {words})") from None


class AlertState(StrEnum):
    """Where an alert is in its life."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


@dataclass(slots=True, frozen=True)
class AlertKey:
    """What makes two signals the same alert: the rule, the device and (for cameras) the zone."""

    rule: str
    device: str
    zone: str = ""

    def __str__(self) -> str:
        return f"{self.rule}|{self.device}|{self.zone}"

    @classmethod
    def parse(cls, text: str) -> AlertKey:
        """The inverse of ``str(key)``."""
        rule, device, zone = text.split("|", 2)
        return cls(rule=rule, device=device, zone=zone)


@dataclass(slots=True, frozen=True)
class AlertSignal:
    """A rule's verdict at an event time: the condition for ``key`` holds (``active``) or cleared.

    ``at`` is the event time (the devices' ``ts``, or a frame's capture time) at which the
    condition began to hold or stopped holding — not when the engine noticed it.
    """

    key: AlertKey
    rule_type: RuleType
    active: bool
    at: datetime
    severity: Severity
    site: str
    sector: str
    message_vi: str
    message_en: str
    details: dict[str, Any] = field(default_factory=dict)
