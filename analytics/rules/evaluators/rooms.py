"""Meeting-room rules: a booking nobody came to (ghost), and use without a booking.

A booking reaches the rules as ``booking_started`` at its start and ``booking_ended`` at
its end: from the room's calendar (the ``booking`` points the CalDAV sync writes, handed
over in event time by `analytics.service.bookings`; a cancelled booking never starts), or
for a room without a calendar from its booking panel. The occupancy sensor counts people
every report interval. People
arrive a few minutes early or late and meetings overrun, so an occupancy run (from the
first sample with people to the first without) counts as booked when a booking was
running at any time during it.
"""

from __future__ import annotations

from analytics.alerts.model import AlertSignal, RuleType
from analytics.rules.calendar import Calendar
from analytics.rules.config import GhostBookingRule, UnbookedUseRule
from analytics.rules.evaluators.base import MINUTE_MS, Evaluator, Subject, local_hhmm
from analytics.rules.inputs import Fact
from twins.payloads import BookingEnded, BookingStarted, MeetingRoomTelemetry, SessionStarted


class GhostBookingEvaluator(Evaluator[GhostBookingRule]):
    """Nobody in the room ``grace_minutes`` after a booking started; cleared when people
    come after all or the booking ends."""

    rule_type = RuleType.GHOST_BOOKING

    def __init__(self, rule: GhostBookingRule, subject: Subject, calendar: Calendar | None) -> None:
        super().__init__(rule, subject, calendar)
        self.occupancy = 0
        self.booking: BookingStarted | None = None
        self.started = 0
        self.realised = False

    def on_fact(self, fact: Fact) -> list[AlertSignal]:
        body = fact.body
        thing = self.subject.thing
        match body:
            case BookingStarted():
                self.note_sector(fact)
                signals = self._close(fact.ts, "booking_replaced")
                self.booking, self.started = body, fact.ts
                self.realised = self.occupancy > 0
                return signals
            case MeetingRoomTelemetry():
                self.note_sector(fact)
                self.occupancy = body.occupancy
                if self.booking is not None and body.occupancy > 0:
                    self.realised = True
                    return self.cleared(
                        fact.ts,
                        f"{thing}: đã có người đến họp ({body.occupancy} người)",
                        f"{thing}: people arrived after all ({body.occupancy})",
                        booking=self.booking.booking,
                    )
            case SessionStarted():
                if self.booking is not None:
                    self.realised = True
                    return self.cleared(
                        fact.ts,
                        f"{thing}: phiên họp đã bắt đầu",
                        f"{thing}: the meeting session started",
                        booking=self.booking.booking,
                    )
            case BookingEnded():
                signals = self._close(fact.ts, "booking_ended")
                self.booking = None
                return signals
        return []

    def _close(self, at: int, reason: str) -> list[AlertSignal]:
        booking = self.booking.booking if self.booking is not None else None
        return self.cleared(
            at,
            f"{self.subject.thing}: lịch họp đã kết thúc",
            f"{self.subject.thing}: the booking is over",
            booking=booking,
            reason=reason,
        )

    def deadline(self) -> int | None:
        if self.booking is None or self.realised or self.is_active():
            return None
        return self.started + round(self.rule.grace_minutes * MINUTE_MS)

    def on_time(self, now: int) -> list[AlertSignal]:
        due = self.deadline()
        if due is None or now < due or self.booking is None:
            return []
        booking = self.booking
        thing = self.subject.thing
        return self.raised(
            due,
            f"{thing}: phòng được đặt cho '{booking.title}' từ"
            f" {local_hhmm(self.started, self.calendar)} nhưng không có ai",
            f"{thing}: booked for '{booking.title}' but nobody came",
            booking=booking.booking,
            title=booking.title,
            attendees=booking.attendees,
            booked_at=self.started,
        )


class UnbookedUseEvaluator(Evaluator[UnbookedUseRule]):
    """At least ``min_people`` in the room for ``min_minutes`` and no booking during the
    whole run; cleared when the room empties or a booking starts."""

    rule_type = RuleType.UNBOOKED_USE

    def __init__(self, rule: UnbookedUseRule, subject: Subject, calendar: Calendar | None) -> None:
        super().__init__(rule, subject, calendar)
        self.booked = False
        self.run_start: int | None = None
        self.run_booked = False
        self.people = 0

    def on_fact(self, fact: Fact) -> list[AlertSignal]:
        body = fact.body
        thing = self.subject.thing
        match body:
            case BookingStarted():
                self.booked = True
                if self.run_start is not None:
                    self.run_booked = True
                return self.cleared(
                    fact.ts,
                    f"{thing}: phòng đã có lịch đặt",
                    f"{thing}: a booking started",
                    reason="booking_started",
                )
            case BookingEnded():
                self.booked = False
            case MeetingRoomTelemetry():
                self.note_sector(fact)
                self.people = body.occupancy
                if body.occupancy >= self.rule.min_people:
                    if self.run_start is None:
                        self.run_start, self.run_booked = fact.ts, self.booked
                    return self.on_time(fact.ts)
                self.run_start = None
                return self.cleared(
                    fact.ts, f"{thing}: phòng đã trống", f"{thing}: the room is empty again"
                )
        return []

    def deadline(self) -> int | None:
        if self.run_start is None or self.run_booked or self.is_active():
            return None
        return self.run_start + round(self.rule.min_minutes * MINUTE_MS)

    def on_time(self, now: int) -> list[AlertSignal]:
        due = self.deadline()
        if due is None or now < due:
            return []
        thing = self.subject.thing
        return self.raised(
            due,
            f"{thing}: phòng đang được sử dụng không có lịch đặt ({self.people} người,"
            f" từ {local_hhmm(self.run_start or due, self.calendar)})",
            f"{thing}: the room is in use without a booking ({self.people} people)",
            people=self.people,
            since=self.run_start,
        )
