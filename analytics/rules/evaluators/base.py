"""What every evaluator is: a state machine of one rule and one device, in event time.

The engine feeds an evaluator the facts of its device in event-time order (`on_fact`)
and tells it when event time has passed its `deadline` (`on_time`) — a minimum duration
ending, a grace period running out, a device's silence growing too long, an office
opening or closing. Evaluators never read a clock: everything they know of time is the
``ts`` of what they are fed, which is why a run at ×60 gives the signals of a run at ×1.

An evaluator returns `AlertSignal`s: ``active`` dated at the event time the condition
began to hold (for a rule with a duration: when the duration was reached), ``cleared``
dated at the event time it stopped holding. It emits at most one ``active`` per key until
that key is cleared.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar
from zoneinfo import ZoneInfo

from analytics.alerts.model import AlertKey, AlertSignal, RuleType, Severity
from analytics.rules.calendar import SITE_TIMEZONE, Calendar
from analytics.rules.config import Rule
from analytics.rules.inputs import Fact, datetime_of
from twins.kinds import DeviceKind

MINUTE_MS = 60_000
_SITE_TZ = ZoneInfo(SITE_TIMEZONE)

RuleT = TypeVar("RuleT", bound=Rule)


@dataclass(slots=True, frozen=True)
class Subject:
    """The device an evaluator watches."""

    thing: str
    site: str
    kind: DeviceKind
    sector: str


class Evaluator(Generic[RuleT]):
    """Base of the evaluators; subclasses set ``rule_type`` and override the hooks."""

    rule_type: ClassVar[RuleType]

    def __init__(self, rule: RuleT, subject: Subject, calendar: Calendar | None) -> None:
        self.rule: RuleT = rule
        self.subject = subject
        self.calendar = calendar
        self.sector = subject.sector
        self._active: dict[str, int] = {}
        """Zone ("" for the device) → event time (ms) its active signal was dated."""

    # --- hooks -----------------------------------------------------------------------------

    def on_fact(self, fact: Fact) -> list[AlertSignal]:
        """A fact of the subject, in event-time order."""
        return []

    def deadline(self) -> int | None:
        """The next event time (ms) at which the evaluator must be asked again, if any."""
        return None

    def on_time(self, now: int) -> list[AlertSignal]:
        """Event time has reached ``now`` (one of the `deadline`s) with no fact before it."""
        return []

    # --- helpers ---------------------------------------------------------------------------

    def is_active(self, zone: str = "") -> bool:
        return zone in self._active

    @property
    def active_zones(self) -> list[str]:
        return sorted(self._active)

    def note_sector(self, fact: Fact) -> None:
        if fact.sector and not self.sector:
            self.sector = fact.sector

    def raised(
        self,
        at: int,
        message_vi: str,
        message_en: str,
        *,
        zone: str = "",
        severity: Severity | None = None,
        **details: Any,
    ) -> list[AlertSignal]:
        """The ``active`` signal for ``zone`` at ``at`` (nothing when already active)."""
        if zone in self._active:
            return []
        self._active[zone] = at
        return [self._signal(True, at, message_vi, message_en, zone, severity, details)]

    def cleared(
        self, at: int, message_vi: str, message_en: str, *, zone: str = "", **details: Any
    ) -> list[AlertSignal]:
        """The ``cleared`` signal for ``zone`` at ``at`` (nothing when not active)."""
        since = self._active.pop(zone, None)
        if since is None:
            return []
        details.setdefault("active_s", round((at - since) / 1000, 3))
        return [self._signal(False, at, message_vi, message_en, zone, None, details)]

    def withdraw(self, at: int) -> list[AlertSignal]:
        """Clear every active key (the rule was removed or changed by a reload)."""
        signals: list[AlertSignal] = []
        for zone in sorted(self._active):
            signals += self.cleared(
                at,
                "Quy tắc đã thay đổi, cảnh báo được đóng",
                "Rule changed; alert closed",
                zone=zone,
                reason="rule_reloaded",
            )
        return signals

    def _signal(
        self,
        active: bool,
        at: int,
        message_vi: str,
        message_en: str,
        zone: str,
        severity: Severity | None,
        details: dict[str, Any],
    ) -> AlertSignal:
        return AlertSignal(
            key=AlertKey(rule=self.rule.id, device=self.subject.thing, zone=zone),
            rule_type=self.rule_type,
            active=active,
            at=datetime_of(at),
            severity=severity if severity is not None else self.rule.severity,
            site=self.subject.site,
            sector=self.sector,
            message_vi=message_vi,
            message_en=message_en,
            details=details,
        )


def earliest(*moments: int | None) -> int | None:
    """The smallest of the moments that are set."""
    found = [moment for moment in moments if moment is not None]
    return min(found) if found else None


def local_hhmm(ts: int, calendar: Calendar | None) -> str:
    """``14:05`` in the calendar's zone (UTC+7 without one), for messages."""
    tz = calendar.tz if calendar is not None else _SITE_TZ
    return dt.datetime.fromtimestamp(ts / 1000, tz).strftime("%H:%M")
