"""Device health rules: offline or stale (any kind), and a camera's stream down."""

from __future__ import annotations

from analytics.alerts.model import AlertSignal, RuleType
from analytics.rules.calendar import Calendar
from analytics.rules.config import OfflineRule, StreamDownRule
from analytics.rules.evaluators.base import Evaluator, Subject, local_hhmm
from analytics.rules.inputs import Fact, StreamHealthEvent
from twins.kinds import REPORT_INTERVAL_SECONDS
from twins.payloads import CameraTelemetry, DeviceState, Status
from twins.presence import PresenceEvent


class OfflineEvaluator(Evaluator[OfflineRule]):
    """Offline at a status ``offline`` (the last will), stale after ``intervals`` report
    intervals without a message, judged on the engine's watermark: silence is measured
    in event time, so a run at ×60 finds the same gaps as one at ×1.

    A stale device is back at its next message, dated at that message's time. A device
    that left its last will is back only at its birth (status ``online``, sent right after
    it reconnects): the messages it buffered while unreachable, flushed behind the birth
    or even ahead of it, prove it was measuring, not that it could be reached. Presence
    and stream-health facts are the video hub's and say nothing about the device.
    """

    rule_type = RuleType.OFFLINE

    def __init__(self, rule: OfflineRule, subject: Subject, calendar: Calendar | None) -> None:
        super().__init__(rule, subject, calendar)
        self.last_seen: int | None = None
        self.reported_interval_s: float | None = None
        self.will = False
        """The device's last will is in force (a status ``offline`` without a birth since)."""

    @property
    def interval_ms(self) -> int:
        seconds = (
            self.rule.interval_s
            or self.reported_interval_s
            or REPORT_INTERVAL_SECONDS[self.subject.kind]
        )
        return round(seconds * self.rule.intervals * 1000)

    def on_fact(self, fact: Fact) -> list[AlertSignal]:
        body = fact.body
        if isinstance(body, PresenceEvent | StreamHealthEvent):
            return []
        self.note_sector(fact)
        thing = self.subject.thing
        if isinstance(body, Status) and body.state == "offline":
            if not self.rule.on_status:
                return []
            self.will = True
            reason = f" ({body.reason})" if body.reason else ""
            return self.raised(
                fact.ts,
                f"{thing}: thiết bị mất kết nối{reason}",
                f"{thing}: the device went offline{reason}",
                cause="status",
                reason=body.reason,
            )
        if isinstance(body, DeviceState) and body.report_interval_s is not None:
            self.reported_interval_s = body.report_interval_s
        self.last_seen = max(self.last_seen or fact.ts, fact.ts)
        if isinstance(body, Status):  # the birth
            self.will = False
        elif self.will:
            return []
        return self.cleared(
            fact.ts,
            f"{thing}: thiết bị đã kết nối lại",
            f"{thing}: the device is back",
        )

    def deadline(self) -> int | None:
        if self.last_seen is None or self.is_active() or self.will:
            return None
        return self.last_seen + self.interval_ms

    def on_time(self, now: int) -> list[AlertSignal]:
        due = self.deadline()
        if due is None or now < due or self.last_seen is None:
            return []
        thing = self.subject.thing
        silent = round((due - self.last_seen) / 1000)
        return self.raised(
            due,
            f"{thing}: không nhận được dữ liệu từ {local_hhmm(self.last_seen, self.calendar)}"
            f" ({silent} giây)",
            f"{thing}: no message for {silent} s",
            cause="silent",
            last_seen=self.last_seen,
        )


class StreamDownEvaluator(Evaluator[StreamDownRule]):
    """Down since the hub said so (``healthSince``) or the camera reported fewer than
    ``min_fps`` frames per second, for ``min_down_s``; cleared when both say up again."""

    rule_type = RuleType.STREAM_DOWN

    def __init__(self, rule: StreamDownRule, subject: Subject, calendar: Calendar | None) -> None:
        super().__init__(rule, subject, calendar)
        self.hub_down: int | None = None
        self.camera_down: int | None = None
        self.error: str | None = None

    @property
    def since(self) -> int | None:
        found = [t for t in (self.hub_down, self.camera_down) if t is not None]
        return min(found) if found else None

    def on_fact(self, fact: Fact) -> list[AlertSignal]:
        body = fact.body
        if isinstance(body, StreamHealthEvent):
            if body.up:
                self.hub_down = None
            elif self.hub_down is None:
                self.hub_down, self.error = fact.ts, body.error
        elif isinstance(body, CameraTelemetry) and self.rule.min_fps is not None:
            self.note_sector(fact)
            if body.fps >= self.rule.min_fps:
                self.camera_down = None
            elif self.camera_down is None:
                self.camera_down = fact.ts
        else:
            return []
        if self.since is None:
            return self.cleared(
                fact.ts,
                f"{self.subject.thing}: luồng video đã hoạt động lại",
                f"{self.subject.thing}: the video stream is back",
            )
        return self.on_time(fact.ts)

    def deadline(self) -> int | None:
        since = self.since
        if since is None or self.is_active():
            return None
        return since + round(self.rule.min_down_s * 1000)

    def on_time(self, now: int) -> list[AlertSignal]:
        due = self.deadline()
        if due is None or now < due:
            return []
        thing = self.subject.thing
        error = f": {self.error}" if self.error else ""
        return self.raised(
            due,
            f"{thing}: mất luồng video từ {local_hhmm(self.since or due, self.calendar)}{error}",
            f"{thing}: video stream down{error}",
            since=self.since,
            error=self.error,
            source="hub" if self.hub_down is not None else "camera",
        )
