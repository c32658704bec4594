"""Service-centre KPIs: tickets from kiosks, counters and the officers behind them.

A ticket is followed by its number within its site and day (numbering restarts every
day): issued at a kiosk, first called, started, finished or a no-show at a counter. Its
waiting time runs from issue to the start of service; its SLA from issue to the first
call. An officer is *present* while logged in and not on a break; the office hours the
officer is not present are absence — except a login within ``login_grace_seconds`` of a
session's opening, which is on time. Staffed time is what throughput and utilisation are
measured against.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from analytics.kpis.aggregate import Aggregator
from analytics.kpis.facts import EventRow, area_chain, device_chain
from analytics.kpis.intervals import Interval, intersect, merge, subtract
from analytics.kpis.settings import KpiSettings


@dataclass(slots=True)
class TicketFact:
    """What happened to one ticket (None: not seen)."""

    site: str
    sector: str
    ticket: str
    issued_at: float | None = None
    counter: str | None = None
    first_call: float | None = None
    started: float | None = None
    finished: float | None = None
    service_s: float | None = None
    no_show_at: float | None = None


@dataclass(slots=True, frozen=True)
class CounterFact:
    """A counter's day: office hours, when its officer was present, when it was serving."""

    counter: str
    site: str
    sector: str
    scheduled: list[Interval]
    present: list[Interval]
    busy: list[Interval]


def tickets_from_events(kiosk: Iterable[EventRow], counter: Iterable[EventRow]) -> list[TicketFact]:
    """Join one day's kiosk and counter events into tickets (by site and number)."""
    tickets: dict[tuple[str, str], TicketFact] = {}

    def of(row: EventRow) -> TicketFact | None:
        number = row.text("ticket")
        if number is None:
            return None
        key = (row.site, number)
        fact = tickets.get(key)
        if fact is None:
            fact = tickets[key] = TicketFact(row.site, row.sector, number)
        return fact

    for row in sorted(kiosk, key=lambda r: r.t):
        fact = of(row)
        if fact is not None and row.type == "ticket_issued" and fact.issued_at is None:
            fact.issued_at = row.t
    for row in sorted(counter, key=lambda r: r.t):
        if row.type not in ("ticket_called", "service_started", "service_finished", "no_show"):
            continue
        fact = of(row)
        if fact is None:
            continue
        fact.counter = row.thing
        if row.type == "ticket_called":
            if fact.first_call is None:
                fact.first_call = row.t
        elif row.type == "service_started":
            fact.started = row.t
        elif row.type == "service_finished":
            fact.finished = row.t
            fact.service_s = row.number("duration_s")
        else:
            fact.no_show_at = row.t
    return list(tickets.values())


def presence_from_events(
    rows: Iterable[EventRow], scheduled: list[Interval], grace_s: float, until: float
) -> list[Interval]:
    """Office time the officer of one counter was logged in and not on a break.

    A session whose first presence begins within ``grace_s`` of its opening counts as
    present from the opening.
    """
    present: list[Interval] = []
    logged_in = on_break = False
    since = 0.0
    for row in sorted(rows, key=lambda r: r.t):
        was = logged_in and not on_break
        if row.type == "officer_login":
            logged_in, on_break = True, False
        elif row.type == "officer_logout":
            logged_in, on_break = False, False
        elif row.type == "break_started":
            on_break = True
        elif row.type == "break_ended":
            on_break = False
        else:
            continue
        now = logged_in and not on_break
        if now and not was:
            since = row.t
        elif was and not now:
            present.append((since, row.t))
    if logged_in and not on_break:
        present.append((since, until))
    inside = intersect(present, scheduled)
    graced: list[Interval] = []
    for start, end in scheduled:
        first = next((a for a, b in inside if start <= a < end), None)
        if first is not None and start < first <= start + grace_s:
            graced.append((start, first))
    return merge([*inside, *graced])


def busy_from_events(rows: Iterable[EventRow], until: float) -> list[Interval]:
    """Service intervals of one counter (service_started → service_finished)."""
    busy: list[Interval] = []
    started: dict[str, float] = {}
    for row in sorted(rows, key=lambda r: r.t):
        number = row.text("ticket")
        if number is None:
            continue
        if row.type == "service_started":
            started[number] = row.t
        elif row.type == "service_finished":
            begin = started.pop(number, None)
            if begin is None:
                duration = row.number("duration_s")
                begin = row.t - duration if duration is not None else row.t
            busy.append((begin, row.t))
    busy.extend((begin, until) for begin in started.values())
    return merge(busy)


def contribute(
    tickets: Iterable[TicketFact],
    counters: Iterable[CounterFact],
    sectors: dict[str, str],
    agg: Aggregator,
    settings: KpiSettings,
) -> None:
    """Add the service-centre KPIs of a day's tickets and counters."""
    sla_s = settings.sla_wait_minutes * 60
    for fact in tickets:
        area = area_chain(fact.site, fact.sector)
        chain = (
            device_chain("counter", fact.counter, fact.site, sectors.get(fact.counter, fact.sector))
            if fact.counter
            else area
        )
        if fact.issued_at is not None:
            agg.count("tickets_issued", area, fact.issued_at)
            unserved = fact.started is None and fact.no_show_at is None
            agg.count("tickets_unserved", area, fact.issued_at, 1.0 if unserved else 0.0)
            agg.count("unserved_rate", area, fact.issued_at, 1.0 if unserved else 0.0, 1.0)
            if fact.first_call is not None:
                met = 1.0 if fact.first_call - fact.issued_at <= sla_s else 0.0
                agg.count("sla_called_within_target", chain, fact.first_call, met, 1.0)
        if fact.finished is not None:
            agg.count("tickets_served", chain, fact.finished)
            agg.count("no_show_rate", chain, fact.finished, 0.0, 1.0)
            agg.count("throughput_per_counter_hour", chain, fact.finished)
            if fact.started is not None and fact.issued_at is not None:
                wait = (fact.started - fact.issued_at) / 60
                for kpi in ("waiting_time_mean", "waiting_time_median", "waiting_time_p90"):
                    agg.value(kpi, chain, fact.finished, wait)
            if fact.service_s is not None:
                agg.value("service_time_mean", chain, fact.finished, fact.service_s / 60)
        if fact.no_show_at is not None:
            agg.count("tickets_no_show", chain, fact.no_show_at)
            agg.count("no_show_rate", chain, fact.no_show_at, 1.0, 1.0)
    for counter in counters:
        chain = device_chain("counter", counter.counter, counter.site, counter.sector)
        present = counter.present
        absent = subtract(counter.scheduled, present)
        agg.spans("counter_staffed_hours", chain, counter.scheduled)
        agg.spans("counter_staffed_hours", chain, present, num_per_s=1 / 3600)
        agg.spans("officer_absence_minutes", chain, counter.scheduled)
        agg.spans("officer_absence_minutes", chain, absent, num_per_s=1 / 60)
        agg.spans("officer_availability", chain, counter.scheduled, den_per_s=1.0)
        agg.spans("officer_availability", chain, present, num_per_s=1.0)
        agg.spans("throughput_per_counter_hour", chain, present, den_per_s=1 / 3600)
        agg.spans("counter_utilisation", chain, present, den_per_s=1.0)
        agg.spans("counter_utilisation", chain, intersect(counter.busy, present), num_per_s=1.0)
