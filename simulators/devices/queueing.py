"""The queue system of a service centre: ticket kiosks and service counters.

Citizens arrive at a time-of-day rate (``queue.tickets_per_hour``, a Poisson process per
hour) and take a ticket for a service at a kiosk, which stops issuing 15 minutes before the
lunch break and 30 minutes before closing. Officers log in (some late), call the oldest
ticket of the services their counter handles, wait for the citizen (some never come: a
no-show after the recalls), serve for a log-normal time around the service's median, take
short breaks and now and then a long absence, log out for the lunch break of a Vietnamese
public office and at closing. A scripted ``officer_absent`` incident makes the officer
leave at the exact minute, even in the middle of a service.

Ground truth: ``officer_absent`` for every time the officer is away from the desk while the
office is open (``details.cause``: late, break, absence, incident), ``ticket_served`` and
``no_show`` per ticket (for waiting- and service-time KPIs), ``unserved`` at closing.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timezone
from string import ascii_uppercase

from pydantic import BaseModel

from simulators.devices.base import DeviceContext, SimDevice
from simulators.scenario import IncidentKind
from simulators.schedule import OfficeDay, days_from, midnight_after, office_day
from simulators.world import Ticket
from twins.kinds import DeviceKind
from twins.payloads import (
    BreakEnded,
    BreakStarted,
    CounterTelemetry,
    DeviceState,
    KioskTelemetry,
    NoShow,
    OfficerLogin,
    OfficerLogout,
    ServiceFinished,
    ServiceStarted,
    TicketCalled,
    TicketIssued,
)
from twins.topics import Channel

MINUTE = 60.0
CALL_HORIZON = 5 * MINUTE
"""No ticket is called this close to a scripted absence (a no-show takes 3 minutes)."""
FAMILY = ["Nguyễn", "Trần", "Phạm", "Vũ", "Hoàng", "Đỗ", "Bùi", "Đặng", "Ngô", "Lê"]
MIDDLE = ["Thị", "Văn", "Minh", "Thu", "Đức", "Ngọc", "Quang", "Thanh"]
GIVEN = ["Hoa", "Hùng", "Lan", "Tuấn", "Hương", "Nam", "Mai", "Dũng", "Hà", "Linh", "Sơn"]


class Kiosk(SimDevice):
    """A ticket kiosk; a site's kiosks share its arrival rate."""

    kind = DeviceKind.KIOSK

    def __init__(self, context: DeviceContext) -> None:
        super().__init__(context)
        site = self.thing_id.namespace
        self.queue = context.world.queue(site)
        kiosks = sorted(
            device.name
            for spec in context.scenario.registry_spec().sites
            if spec.id == site
            for device in spec.devices
            if device.kind is DeviceKind.KIOSK
        )
        self.share = 1 / max(1, len(kiosks))
        self.closes_the_day = kiosks[:1] == [self.thing_id.name]
        self.services = context.scenario.services
        self.weights = [service.share for service in self.services]
        self.prefix = {
            service.code: ascii_uppercase[i % 26] for i, service in enumerate(self.services)
        }

    def sample(self, t: float) -> BaseModel:
        return KioskTelemetry(queue_length=self.queue.waiting(), paper_ok=True)

    async def behave(self) -> None:
        scenario = self.context.scenario
        tz = self.clock.tz
        rates = scenario.queue.tickets_per_hour
        for day in days_from(self.clock.start, tz):
            office = office_day(scenario.office, day, tz)
            if office is not None:
                windows = (
                    (office.opens, office.lunch_starts - 15 * MINUTE),
                    (office.lunch_ends, office.closes - 30 * MINUTE),
                )
                for begin, end in windows:
                    await self._arrivals(max(begin, self.clock.start), end, rates)
                await self.clock.sleep_until(office.closes)
                if self.closes_the_day:
                    self._close_day(office.closes)
            await self.clock.sleep_until(midnight_after(day, tz))

    async def _arrivals(self, t: float, end: float, rates: dict[int, float]) -> None:
        tz = self.clock.tz
        while t < end:
            hour_start = _hour_floor(t, tz)
            hour_end = min(hour_start + 3600, end)
            rate = rates.get(_local_hour(t, tz), 0.0) * self.share / 3600
            if rate <= 0:
                t = hour_end
                continue
            gap = self.rng.expovariate(rate)
            if t + gap >= hour_end:  # memoryless: start again at the next hour's rate
                t = hour_end
                continue
            t += gap
            await self.clock.sleep_until(t)
            if not self.link.powered:
                continue
            service = self.rng.choices(self.services, self.weights)[0]
            ticket = self.queue.issue(service.code, self.prefix[service.code], t)
            self.emit(
                Channel.EVENT,
                TicketIssued(type="ticket_issued", ticket=ticket.number, service=service.code),
                t,
            )

    def _close_day(self, t: float) -> None:
        left = self.queue.new_day()
        if left:
            services = sorted({ticket.service for ticket in left})
            self.truth.interval(
                "unserved", self.thing_id, t, t, {"tickets": len(left), "services": services}
            )


def _local_hour(t: float, tz: timezone) -> int:
    return datetime.fromtimestamp(t, tz).hour


def _hour_floor(t: float, tz: timezone) -> float:
    moment = datetime.fromtimestamp(t, tz)
    return moment.replace(minute=0, second=0, microsecond=0).timestamp()


@dataclass(slots=True)
class Absence:
    """A time the officer leaves the desk; ``hard`` ones (incidents) start on the minute."""

    start: float
    end: float
    cause: str
    hard: bool
    taken: bool = False


class Counter(SimDevice):
    """A service counter and the officer behind it."""

    kind = DeviceKind.COUNTER

    def __init__(self, context: DeviceContext) -> None:
        super().__init__(context)
        attributes = context.device.attributes
        codes = [service.code for service in context.scenario.services]
        text = str(attributes.get("services", ",".join(codes)))
        self.services = frozenset(part.strip() for part in text.split(",") if part.strip())
        self.minutes = {s.code: (s.minutes, s.spread) for s in context.scenario.services}
        self.queue = context.world.queue(self.thing_id.namespace)
        self.desk = context.world.counter(self.thing_id)
        self.settings = context.scenario.queue
        rng = self.rng
        self.officer = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"

    def state(self) -> DeviceState:
        return DeviceState(
            firmware="citytwin-sim 1.0",
            report_interval_s=self.interval,
            service=sorted(self.services)[0] if self.services else None,
        )

    def sample(self, t: float) -> BaseModel:
        return CounterTelemetry(
            waiting=self.queue.waiting(self.services),
            officer_present=self.desk.officer_present,
            serving=self.desk.serving,
        )

    async def behave(self) -> None:
        scenario = self.context.scenario
        tz = self.clock.tz
        for day in days_from(self.clock.start, tz):
            office = office_day(scenario.office, day, tz)
            if office is not None:
                absences = self._plan(office)
                for index, (begin, end) in enumerate(office.sessions):
                    if end > self.clock.start:
                        await self._session(begin, end, absences, morning=index == 0)
            await self.clock.sleep_until(midnight_after(day, tz))

    def _plan(self, office: OfficeDay) -> list[Absence]:
        rng = self.rng
        settings = self.settings
        sessions = office.sessions
        plan: list[Absence] = []

        def somewhere(length: float) -> float:
            begin, end = rng.choices(sessions, [e - b for b, e in sessions])[0]
            return rng.uniform(begin + 15 * MINUTE, max(begin + 15 * MINUTE, end - length - 15))

        for _ in range(_poisson(rng, settings.breaks_per_day)):
            length = rng.uniform(*settings.break_minutes) * MINUTE
            start = somewhere(length)
            plan.append(Absence(start, start + length, "break", hard=False))
        if rng.random() < settings.absence:
            length = rng.uniform(*settings.absence_minutes) * MINUTE
            start = somewhere(length)
            plan.append(Absence(start, start + length, "absence", hard=False))
        for planned in self.context.incidents:
            if planned.incident.what is IncidentKind.OFFICER_ABSENT and (
                office.opens <= planned.start < office.closes
            ):
                end = planned.end if planned.end is not None else office.closes
                plan.append(Absence(planned.start, end, "incident", hard=True))
        plan.sort(key=lambda absence: absence.start)
        return plan

    async def _session(
        self, begin: float, end: float, plan: list[Absence], *, morning: bool
    ) -> None:
        rng = self.rng
        late = rng.uniform(*self.settings.late_minutes) if morning else rng.uniform(0, 4)
        login = max(begin + late * MINUTE, self.clock.start)
        for absence in plan:  # a scripted absence starts on its minute, even before login
            if absence.hard and begin <= absence.start < login:
                login = max(absence.start, self.clock.start)
        if login - begin >= MINUTE and begin >= self.clock.start:
            self._absent(begin, login, "late")
        await self.clock.sleep_until(login)
        self.emit(Channel.EVENT, OfficerLogin(type="officer_login", officer=self.officer), login)
        self.desk.officer_present = True
        t = login
        while t < end:
            due = self._due(plan, t, end)
            if due is not None:
                t = await self._away(due, t, end, plan)
                continue
            leaving = [
                a.start for a in plan if a.hard and not a.taken and t < a.start <= t + CALL_HORIZON
            ]
            if leaving:  # no new citizen called just before a scripted absence: it starts on
                t = leaving[0]  # its minute whichever ticket the shared queue would hand over
                await self.clock.sleep_until(t)
                continue
            ticket = self.queue.take(self.services) if self.link.powered else None
            if ticket is None:
                upcoming = [a.start for a in plan if not a.taken and a.start > t]
                t = min([t + 20, end, *upcoming])
                await self.clock.sleep_until(t)
                continue
            t = await self._serve(ticket, t, plan, end)
        t = max(t, end)
        self.emit(Channel.EVENT, OfficerLogout(type="officer_logout", officer=self.officer), t)
        self.desk.officer_present = False

    @staticmethod
    def _due(plan: list[Absence], t: float, end: float) -> Absence | None:
        for absence in plan:
            if (
                not absence.taken
                and absence.start <= t < end
                and (not absence.hard or t < absence.end)
            ):
                return absence
        return None

    async def _away(self, absence: Absence, t: float, end: float, plan: list[Absence]) -> float:
        """Leave the desk from ``t``; soft absences keep their length, hard ones their end."""
        absence.taken = True
        back = absence.end if absence.hard else t + (absence.end - absence.start)
        back = min(back, end)
        if not absence.hard:  # a scripted absence starts on its minute, even mid-break
            back = min([back, *(a.start for a in plan if a.hard and not a.taken and a.start > t)])
        self.emit(Channel.EVENT, BreakStarted(type="break_started"), t)
        self.desk.officer_present = False
        await self.clock.sleep_until(back)
        self.desk.officer_present = True
        self.emit(Channel.EVENT, BreakEnded(type="break_ended"), back)
        self._absent(t, back, absence.cause)
        return back

    def _absent(self, start: float, end: float, cause: str) -> None:
        details = {"cause": cause, "officer": self.officer, "minutes": round((end - start) / 60, 1)}
        self.truth.interval("officer_absent", self.thing_id, start, end, details)

    async def _serve(self, ticket: Ticket, t: float, plan: list[Absence], end: float) -> float:
        rng = self.rng
        service = ticket.service
        self.emit(
            Channel.EVENT,
            TicketCalled(type="ticket_called", ticket=ticket.number, service=service),
            t,
        )
        if rng.random() < self.settings.no_show:
            for _ in range(self.settings.recalls):
                t += MINUTE
                await self.clock.sleep_until(t)
                self.emit(
                    Channel.EVENT,
                    TicketCalled(type="ticket_called", ticket=ticket.number, service=service),
                    t,
                )
            t += MINUTE
            await self.clock.sleep_until(t)
            self.emit(
                Channel.EVENT, NoShow(type="no_show", ticket=ticket.number, service=service), t
            )
            self.truth.interval(
                "no_show",
                self.thing_id,
                ticket.issued_at,
                t,
                {"ticket": ticket.number, "service": service},
            )
            return t
        t += rng.uniform(20, 90)  # the citizen walks up to the desk
        await self.clock.sleep_until(t)
        started = t
        self.desk.serving = ticket.number
        self.emit(
            Channel.EVENT,
            ServiceStarted(type="service_started", ticket=ticket.number, service=service),
            t,
        )
        median, spread = self.minutes.get(service, (10.0, 0.5))
        remaining = min(max(rng.lognormvariate(math.log(median * MINUTE), spread), 60.0), 3 * 3600)
        while remaining > 0:
            hard = [a for a in plan if a.hard and not a.taken and t < a.start < t + remaining]
            if hard and hard[0].start < end:
                await self.clock.sleep_until(hard[0].start)
                remaining -= hard[0].start - t
                t = await self._away(hard[0], hard[0].start, end, plan)
                if t >= end:
                    break
                continue
            t += remaining
            remaining = 0
            await self.clock.sleep_until(t)
        self.desk.serving = None
        self.emit(
            Channel.EVENT,
            ServiceFinished(
                type="service_finished",
                ticket=ticket.number,
                service=service,
                duration_s=round(t - started, 1),
            ),
            t,
        )
        self.truth.interval(
            "ticket_served",
            self.thing_id,
            ticket.issued_at,
            t,
            {
                "ticket": ticket.number,
                "service": service,
                "wait_s": round(started - ticket.issued_at, 1),
                "service_s": round(t - started, 1),
            },
        )
        return t


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method; means here are small (breaks per day)."""
    limit = math.exp(-mean)
    count, product = 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count
