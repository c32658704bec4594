"""The shared state of the simulated province that several devices observe.

A counter's officer is seen by the desk camera watching it; citizens queueing at a service
centre are issued tickets by its kiosks, served by its counters and seen by its corridor
cameras. Devices write and read this state on the event loop; camera stream threads only
read single attributes (atomic under the GIL).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from twins.thing_id import ThingId


@dataclass(slots=True, frozen=True)
class Ticket:
    number: str
    service: str
    issued_at: float


@dataclass(slots=True)
class ServiceQueue:
    """The queue system of one site: tickets waiting, oldest first (bounded)."""

    tickets: deque[Ticket] = field(default_factory=lambda: deque(maxlen=5000))
    issued: dict[str, int] = field(default_factory=dict)

    def issue(self, service: str, prefix: str, t: float) -> Ticket:
        number = self.issued.get(service, 0) + 1
        self.issued[service] = number
        ticket = Ticket(f"{prefix}{number:03d}", service, t)
        self.tickets.append(ticket)
        return ticket

    def take(self, services: frozenset[str]) -> Ticket | None:
        """The oldest waiting ticket for one of ``services`` (removed from the queue)."""
        for ticket in self.tickets:
            if ticket.service in services:
                self.tickets.remove(ticket)
                return ticket
        return None

    def waiting(self, services: frozenset[str] | None = None) -> int:
        if services is None:
            return len(self.tickets)
        return sum(1 for ticket in self.tickets if ticket.service in services)

    def new_day(self) -> list[Ticket]:
        """Close the day: the tickets nobody served are returned, numbering restarts."""
        left = list(self.tickets)
        self.tickets.clear()
        self.issued.clear()
        return left


@dataclass(slots=True)
class CounterState:
    """What a desk camera sees of a counter."""

    officer_present: bool = False
    serving: str | None = None


@dataclass(slots=True)
class World:
    counters: dict[ThingId, CounterState] = field(default_factory=dict)
    queues: dict[str, ServiceQueue] = field(default_factory=dict)
    intruders: dict[ThingId, int] = field(default_factory=dict)

    def queue(self, site: str) -> ServiceQueue:
        return self.queues.setdefault(site, ServiceQueue())

    def counter(self, thing_id: ThingId) -> CounterState:
        return self.counters.setdefault(thing_id, CounterState())
