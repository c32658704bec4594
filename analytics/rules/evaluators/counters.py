"""Service-counter rules: the officer away from an open counter, and queue overload.

Both hold only inside the calendar's working sessions: the evaluators ask the engine to
wake them at every opening and closing (`Calendar.next_change_ms`), so a condition that
starts at 13:30 when the lunch break ends starts then, not at the next message.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from analytics.alerts.model import AlertSignal, RuleType
from analytics.rules.calendar import Calendar
from analytics.rules.config import OfficerAbsenceRule, QueueOverloadRule
from analytics.rules.evaluators.base import MINUTE_MS, Evaluator, Subject, earliest, local_hhmm
from analytics.rules.inputs import Fact
from twins.payloads import (
    BreakEnded,
    BreakStarted,
    CounterTelemetry,
    KioskTelemetry,
    OfficerLogin,
    OfficerLogout,
    ServiceFinished,
)
from twins.presence import PresenceEvent
from twins.zones import ZoneType


class OfficerAbsenceEvaluator(Evaluator[OfficerAbsenceRule]):
    """The desk empty for ``minutes`` while the counter is open, in calendar hours.

    *Open*: an officer is logged in (``officer_login`` … ``officer_logout``; a break keeps
    the login) or tickets of the counter's services wait (telemetry ``waiting`` > 0).
    *Empty*: the desk camera's desk zone says nobody is there (presence events, routed
    here by the engine); a desk without a camera — or before its camera has said anything
    — falls back to the counter's own ``officer_present`` and break events.
    """

    rule_type = RuleType.OFFICER_ABSENCE

    def __init__(
        self, rule: OfficerAbsenceRule, subject: Subject, calendar: Calendar | None
    ) -> None:
        super().__init__(rule, subject, calendar)
        self.logged_in = False
        self.waiting = 0
        self.officer_present: bool | None = None
        self.desk_present: bool | None = None
        self.officer: str | None = None
        self.empty_since: int | None = None
        self.now: int | None = None
        self.desk_zone: str | None = None
        self.desk_camera: str | None = None

    def present(self) -> bool:
        seen = self.desk_present if self.desk_present is not None else self.officer_present
        return True if seen is None else seen

    def condition(self, ts: int) -> bool:
        opened = self.calendar is None or self.calendar.is_open_ms(ts)
        return opened and (self.logged_in or self.waiting > 0) and not self.present()

    def on_fact(self, fact: Fact) -> list[AlertSignal]:
        body = fact.body
        match body:
            case PresenceEvent(zone_type=ZoneType.DESK):
                if self.desk_zone is None:
                    self.desk_zone = body.zone
                if body.zone != self.desk_zone:
                    return []
                self.desk_present = body.present
                self.desk_camera = body.thing
            case CounterTelemetry():
                self.note_sector(fact)
                self.waiting = body.waiting
                self.officer_present = body.officer_present
            case OfficerLogin():
                self.logged_in, self.officer_present, self.officer = True, True, body.officer
            case OfficerLogout():
                self.logged_in, self.officer_present = False, False
            case BreakStarted():
                self.officer_present = False
            case BreakEnded():
                self.officer_present = True
            case _:
                return []
        return self.on_time(fact.ts)

    def deadline(self) -> int | None:
        due = None
        if self.empty_since is not None and not self.is_active():
            due = self.empty_since + round(self.rule.minutes * MINUTE_MS)
        edge = None
        if self.calendar is not None and self.now is not None:
            edge = self.calendar.next_change_ms(self.now)
        return earliest(due, edge)

    def on_time(self, now: int) -> list[AlertSignal]:
        self.now = now
        thing = self.subject.thing
        if not self.condition(now):
            self.empty_since = None
            return self.cleared(
                now,
                f"{thing}: cán bộ đã trở lại quầy (hoặc quầy đóng)",
                f"{thing}: the officer is back (or the counter closed)",
            )
        if self.empty_since is None:
            self.empty_since = now
        if now - self.empty_since < self.rule.minutes * MINUTE_MS:
            return []
        at = self.empty_since + round(self.rule.minutes * MINUTE_MS)
        minutes = f"{self.rule.minutes:g}"
        return self.raised(
            at,
            f"{thing}: cán bộ vắng mặt tại quầy hơn {minutes} phút"
            f" (từ {local_hhmm(self.empty_since, self.calendar)}),"
            f" {self.waiting} công dân đang chờ",
            f"{thing}: officer away from the desk for more than {minutes} min,"
            f" {self.waiting} waiting",
            since=self.empty_since,
            waiting=self.waiting,
            officer=self.officer,
            **self._source(),
        )

    def _source(self) -> dict[str, Any]:
        """What the absence was judged from: the desk camera (named, for its snapshot) or
        the counter's own telemetry."""
        if self.desk_present is not None and self.desk_camera is not None:
            return {"source": "camera", "camera": self.desk_camera}
        return {"source": "counter"}


class QueueOverloadEvaluator(Evaluator[QueueOverloadRule]):
    """Waiting count or estimated wait above target for ``min_duration_s``, in calendar
    hours. The estimated wait is ``waiting`` × the mean of the counter's last 20 service
    times (``service_minutes`` until one is measured)."""

    rule_type = RuleType.QUEUE_OVERLOAD

    def __init__(
        self, rule: QueueOverloadRule, subject: Subject, calendar: Calendar | None
    ) -> None:
        super().__init__(rule, subject, calendar)
        self.waiting = 0
        self.durations: deque[float] = deque(maxlen=20)
        self.over_since: int | None = None
        self.now: int | None = None

    def estimated_wait_min(self) -> float:
        mean_s = (
            sum(self.durations) / len(self.durations)
            if self.durations
            else self.rule.service_minutes * 60
        )
        return self.waiting * mean_s / 60

    def condition(self, ts: int) -> bool:
        if self.calendar is not None and not self.calendar.is_open_ms(ts):
            return False
        rule = self.rule
        by_count = rule.max_waiting is not None and self.waiting > rule.max_waiting
        by_wait = (
            rule.max_wait_minutes is not None and self.estimated_wait_min() > rule.max_wait_minutes
        )
        return by_count or by_wait

    def on_fact(self, fact: Fact) -> list[AlertSignal]:
        body = fact.body
        match body:
            case CounterTelemetry():
                self.waiting = body.waiting
            case KioskTelemetry():
                self.waiting = body.queue_length
            case ServiceFinished():
                self.durations.append(body.duration_s)
            case _:
                return []
        self.note_sector(fact)
        return self.on_time(fact.ts)

    def deadline(self) -> int | None:
        due = None
        if self.over_since is not None and not self.is_active():
            due = self.over_since + round(self.rule.min_duration_s * 1000)
        edge = None
        if self.calendar is not None and self.now is not None:
            edge = self.calendar.next_change_ms(self.now)
        return earliest(due, edge)

    def on_time(self, now: int) -> list[AlertSignal]:
        self.now = now
        thing = self.subject.thing
        wait = round(self.estimated_wait_min(), 1)
        if not self.condition(now):
            self.over_since = None
            return self.cleared(
                now,
                f"{thing}: hàng chờ đã giảm ({self.waiting} người chờ)",
                f"{thing}: the queue is back under target ({self.waiting} waiting)",
                waiting=self.waiting,
            )
        if self.over_since is None:
            self.over_since = now
        if now - self.over_since < self.rule.min_duration_s * 1000:
            return []
        at = self.over_since + round(self.rule.min_duration_s * 1000)
        return self.raised(
            at,
            f"{thing}: quá tải hàng chờ — {self.waiting} người chờ, ước tính {wait:g} phút",
            f"{thing}: queue overload — {self.waiting} waiting, about {wait:g} min wait",
            waiting=self.waiting,
            estimated_wait_min=wait,
            since=self.over_since,
        )
