"""Realistic inputs for rule tests, built with the contract's own payload models.

A `Device` numbers its messages like a real one (``seq`` +1 per message) and dates them
in Thái Bình local time, so a test reads like the day it describes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from analytics.alerts.model import AlertSignal
from analytics.rules.engine import DeviceInfo, RuleEngine
from analytics.rules.inputs import Input, StreamHealthEvent
from analytics.rules.ruleset import RuleSet
from twins.events import EventChannel, NormalizedEvent, TsSource
from twins.kinds import DeviceKind, Sector
from twins.payloads import Status
from twins.presence import PresenceEvent
from twins.zones import ZoneType

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = "2026-12-02"  # a Wednesday
MINUTE = dt.timedelta(minutes=1)


def local(text: str, day: str = DAY) -> dt.datetime:
    """``"09:30"`` (on `DAY`) or ``"2026-02-17 09:30"`` as an aware local datetime."""
    if " " not in text:
        text = f"{day} {text}"
    return dt.datetime.fromisoformat(text).replace(tzinfo=TZ)


def ms(at: dt.datetime) -> int:
    return round(at.timestamp() * 1000)


@dataclass
class Device:
    """One simulated device's messages, as ingest normalizes them."""

    thing: str
    kind: DeviceKind
    sector: Sector
    seq: int = 0

    @property
    def site(self) -> str:
        return self.thing.partition(":")[0]

    def message(
        self, channel: EventChannel, body: BaseModel, at: dt.datetime, *, server: bool = False
    ) -> NormalizedEvent:
        self.seq += 1
        return NormalizedEvent(
            thing_id=self.thing,
            kind=self.kind,
            site=self.site,
            sector=self.sector,
            channel=channel,
            ts=ms(at),
            ts_source=TsSource.SERVER if server else TsSource.DEVICE,
            seq=None if server else self.seq,
            data=body.model_dump(mode="json", exclude_none=True),
        )

    def telemetry(self, body: BaseModel, at: dt.datetime) -> NormalizedEvent:
        return self.message(EventChannel.TELEMETRY, body, at)

    def event(self, body: BaseModel, at: dt.datetime) -> NormalizedEvent:
        return self.message(EventChannel.EVENT, body, at)

    def state(self, body: BaseModel, at: dt.datetime) -> NormalizedEvent:
        return self.message(EventChannel.STATE, body, at)

    def status(self, state: str, at: dt.datetime, *, server: bool = True) -> NormalizedEvent:
        body = Status(state="online" if state == "online" else "offline")
        return self.message(EventChannel.STATUS, body, at, server=server)


def presence(
    camera: str,
    zone: str,
    zone_type: ZoneType,
    present: bool,
    at: dt.datetime,
    *,
    people: int | None = None,
    watched: bool = True,
) -> PresenceEvent:
    count = people if people is not None else (1 if present else 0)
    return PresenceEvent(
        thing=camera,
        zone=zone,
        zone_type=zone_type,
        present=present,
        people=count,
        at=at.astimezone(dt.UTC),
        watched=watched,
    )


def health(camera: str, up: bool, at: dt.datetime, error: str | None = None) -> StreamHealthEvent:
    return StreamHealthEvent(thing=camera, up=up, at=at, error=None if up else error)


@dataclass
class Run:
    """An engine over a rule directory, with what it signalled."""

    engine: RuleEngine
    signals: list[AlertSignal] = field(default_factory=list)

    def feed(self, *items: Input) -> list[AlertSignal]:
        new = self.engine.push_all(items)
        self.signals += new
        return new

    def finish(self) -> list[AlertSignal]:
        self.signals += self.engine.flush()
        return self.signals

    def of(self, rule: str) -> list[tuple[bool, dt.datetime, str, str]]:
        """(active, local time, device, zone) of the signals of ``rule``."""
        return [
            (s.active, s.at.astimezone(TZ), s.key.device, s.key.zone)
            for s in self.signals
            if s.key.rule == rule
        ]


def engine_for(
    directory: Path, *, lateness_s: float = 30.0, devices: list[DeviceInfo] | None = None
) -> Run:
    rules = RuleSet.load(directory).current
    return Run(RuleEngine(rules, allowed_lateness_s=lateness_s, devices=devices or []))


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


OFFICE_CALENDAR = """\
calendars:
  office:
    days: [mon, tue, wed, thu, fri]
    hours: ["07:30-11:45", "13:30-17:00"]
"""
