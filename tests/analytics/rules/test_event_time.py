"""Event time: the same signals whatever the arrival order within the allowed lateness,
whatever the speed of the run; later input is placed when it arrives, not lost."""

from __future__ import annotations

import datetime as dt
import random
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.alerts.model import AlertSignal
from analytics.rules.engine import DeviceInfo, RuleEngine
from analytics.rules.inputs import Input, StreamHealthEvent
from analytics.rules.ruleset import DEFAULTS, Rules, RuleSet
from tests.analytics.rules.feed import MINUTE, Device, health, local, ms, presence
from twins.events import NormalizedEvent
from twins.kinds import DeviceKind, Sector
from twins.payloads import (
    BookingEnded,
    BookingStarted,
    BreakEnded,
    BreakStarted,
    CameraTelemetry,
    CounterTelemetry,
    MeetingRoomTelemetry,
    OfficerLogin,
    SensorTelemetry,
)
from twins.presence import PresenceEvent
from twins.zones import ZoneType

LATENESS_S = 30.0
HALF_MINUTE = dt.timedelta(seconds=30)
REGISTRY = [
    DeviceInfo(
        "thaibinh.hcc:cam-desk-07",
        DeviceKind.CAMERA,
        "thaibinh.hcc",
        "public_administration",
        {"watches": "counter-07"},
    )
]


@cache
def rules() -> Rules:
    return RuleSet.load(DEFAULTS / "thaibinh").current


@cache
def morning() -> tuple[Input, ...]:
    """09:20–10:20 at a few Thái Bình sites, every input with its event time.

    A flood wave at flood-04 (09:30–10:00), an officer away from counter-07 (09:40–10:05,
    seen by the desk camera), a ghost booking in room-01 at 09:30, an intruder at a
    school gate, a stream down for five minutes, and a camera that dies at 09:50.
    """
    flood = Device("thaibinh.flood:flood-04", DeviceKind.SENSOR, Sector.ENVIRONMENT)
    counter = Device("thaibinh.hcc:counter-07", DeviceKind.COUNTER, Sector.PUBLIC_ADMINISTRATION)
    room = Device("thaibinh.ubnd:room-01", DeviceKind.MEETING_ROOM, Sector.GOVERNMENT_OFFICE)
    dying = Device("thaibinh.bv-nhi:cam-corridor-02", DeviceKind.CAMERA, Sector.HEALTH)
    items: list[Input] = []
    start = local("09:20")
    items.append(counter.event(OfficerLogin(type="officer_login", officer="Vũ Minh Sơn"), start))
    for i in range(61):
        at = start + i * MINUTE
        level = 150 + (i % 3) / 10 + 170 * max(0.0, 1 - abs((at - local("09:45")) / (15 * MINUTE)))
        items.append(flood.telemetry(SensorTelemetry(water_level_cm=round(level, 1)), at))
        items.append(room.telemetry(MeetingRoomTelemetry(occupancy=0), at))
        for half in (at, at + HALF_MINUTE):
            away = local("09:40") <= half < local("10:05")
            body = CounterTelemetry(waiting=6, officer_present=not away)
            items.append(counter.telemetry(body, half))
            if half <= local("09:50"):
                items.append(dying.telemetry(CameraTelemetry(fps=5, bitrate_kbps=512), half))
    items.append(counter.event(BreakStarted(type="break_started"), local("09:40")))
    items.append(counter.event(BreakEnded(type="break_ended"), local("10:05")))
    desk = "thaibinh.hcc:cam-desk-07"
    items.append(presence(desk, "officer", ZoneType.DESK, False, local("09:40:03")))
    items.append(presence(desk, "officer", ZoneType.DESK, True, local("10:04:58")))
    booking = BookingStarted(type="booking_started", booking="BK-7", title="Họp", attendees=8)
    items.append(room.event(booking, local("09:30")))
    items.append(room.event(BookingEnded(type="booking_ended", booking="BK-7"), local("10:15")))
    gate = "thaibinh.school03:cam-gate-01"
    items.append(presence(gate, "yard", ZoneType.RESTRICTED, True, local("09:52:10"), people=2))
    items.append(presence(gate, "yard", ZoneType.RESTRICTED, False, local("09:58:45")))
    items.append(health(gate, False, local("10:00:00"), error="timeout"))
    items.append(health(gate, True, local("10:05:00")))
    return tuple(items)


def event_time(item: Input) -> int:
    if isinstance(item, NormalizedEvent):
        return item.ts
    assert isinstance(item, PresenceEvent | StreamHealthEvent)
    return ms(item.at)


def run(items: list[Input]) -> list[AlertSignal]:
    engine = RuleEngine(rules(), allowed_lateness_s=LATENESS_S, devices=REGISTRY)
    signals = engine.push_all(items)
    signals += engine.flush()
    assert engine.stats.late_events == 0
    return signals


def arrival_order(items: tuple[Input, ...], delays_ms: list[int]) -> list[Input]:
    """Each input delayed by its own amount, then sorted by when it arrives."""
    arrivals = [
        (event_time(item) + delays_ms[i % len(delays_ms)], i) for i, item in enumerate(items)
    ]
    return [items[i] for _, i in sorted(arrivals)]


@cache
def reference() -> tuple[AlertSignal, ...]:
    return tuple(run(sorted(morning(), key=event_time)))


def test_the_morning_raises_what_happened() -> None:
    found = [
        (s.key.rule, s.key.device, s.active, s.at.astimezone(local("00:00").tzinfo))
        for s in reference()
    ]
    expected = [
        ("flood-water-level", "thaibinh.flood:flood-04", True, local("09:39")),
        ("ghost-booking", "thaibinh.ubnd:room-01", True, local("09:45")),
        # the break at 09:40 (the counter's word until its camera speaks at 09:40:03)
        ("officer-absent", "thaibinh.hcc:counter-07", True, local("09:50")),
        ("camera-offline", "thaibinh.bv-nhi:cam-corridor-02", True, local("09:51:30")),
        ("flood-water-level", "thaibinh.flood:flood-04", False, local("09:53")),
        ("intrusion", "thaibinh.school03:cam-gate-01", True, local("09:52:10")),
        ("intrusion", "thaibinh.school03:cam-gate-01", False, local("09:58:45")),
        ("camera-stream-down", "thaibinh.school03:cam-gate-01", True, local("10:01")),
        ("officer-absent", "thaibinh.hcc:counter-07", False, local("10:04:58")),
        ("camera-stream-down", "thaibinh.school03:cam-gate-01", False, local("10:05")),
        ("ghost-booking", "thaibinh.ubnd:room-01", False, local("10:15")),
    ]
    assert sorted(found, key=lambda f: (f[3], f[0])) == sorted(expected, key=lambda f: (f[3], f[0]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.integers(min_value=0, max_value=int(LATENESS_S * 1000) - 1), min_size=1, max_size=64
    )
)
def test_any_arrival_order_within_the_lateness_gives_the_same_signals(
    delays_ms: list[int],
) -> None:
    assert tuple(run(arrival_order(morning(), delays_ms))) == reference()


def test_reversed_batches_within_the_lateness() -> None:
    # ingest publishes per device and batch: here every 20 s of input arrives reversed
    items = sorted(morning(), key=event_time)
    batches: dict[int, list[Input]] = {}
    for item in items:
        batches.setdefault(event_time(item) // 20_000, []).append(item)
    shuffled = [item for key in sorted(batches) for item in reversed(batches[key])]
    assert shuffled != items
    assert tuple(run(shuffled)) == reference()


def test_a_run_at_x60_gives_the_signals_of_a_run_at_x1() -> None:
    # the same wall-clock jitter (up to 0.4 s between a device and the engine) displaces
    # inputs by 0.4 s of event time at ×1 and by 24 s at ×60: both within the lateness
    rng = random.Random(2020)
    jitter_s = [rng.uniform(0, 0.4) for _ in morning()]
    for speed in (1, 60):
        delays = [round(j * speed * 1000) for j in jitter_s]
        assert tuple(run(arrival_order(morning(), delays))) == reference(), speed


def test_an_offline_buffer_flushed_late_is_placed_when_it_arrives() -> None:
    # flood-09 loses its network 13:00–13:20 and keeps measuring; the buffer (with the
    # water rising past the limit at 13:10) arrives at 13:20, when others are there
    engine = RuleEngine(rules(), allowed_lateness_s=LATENESS_S)
    cut = Device("thaibinh.flood:flood-09", DeviceKind.SENSOR, Sector.ENVIRONMENT)
    other = Device("thaibinh.flood:flood-10", DeviceKind.SENSOR, Sector.ENVIRONMENT)
    signals: list[AlertSignal] = []
    buffered: list[Input] = []
    for i in range(31):
        at = local("12:55") + i * MINUTE
        level = (200.0 if at < local("13:10") else 262.0) + (i % 3) / 10
        reading = cut.telemetry(SensorTelemetry(water_level_cm=level), at)
        if local("13:00") < at < local("13:20"):
            buffered.append(reading)
        else:
            if at >= local("13:20"):
                signals += engine.push_all(buffered)
                buffered.clear()
            signals += engine.push(reading)
        signals += engine.push(other.telemetry(SensorTelemetry(water_level_cm=120 + i % 2), at))
    signals += engine.flush()
    assert engine.stats.late_events == 18  # 13:01–13:18; 13:19 was still within the lateness
    assert engine.stats.late_dropped == 0
    found = [(s.key.rule, s.active, s.at.astimezone(local("00:00").tzinfo)) for s in signals]
    arrived = local("13:19")  # the newest event time when the buffer arrived
    assert found == [
        ("sensor-offline", True, local("13:03")),  # silent for 3 × 60 s in event time
        ("sensor-offline", False, arrived),
        ("flood-water-level", True, arrived),  # not lost: dated when it was learnt
    ]
    assert not any(s.key.device == "thaibinh.flood:flood-10" for s in signals)


def test_server_stamped_status_is_placed_at_the_devices_time() -> None:
    # at ×60 ingest's clock is far ahead of the devices'; a last will stamped with it must
    # not drag the watermark (and every other device's silence) into the future
    engine = RuleEngine(rules(), allowed_lateness_s=LATENESS_S)
    a = Device("thaibinh.env:env-01", DeviceKind.SENSOR, Sector.ENVIRONMENT)
    b = Device("thaibinh.env:env-02", DeviceKind.SENSOR, Sector.ENVIRONMENT)
    signals = engine.push(a.telemetry(SensorTelemetry(pm25_ugm3=20), local("09:00")))
    signals += engine.push(b.telemetry(SensorTelemetry(pm25_ugm3=20), local("09:00")))
    signals += engine.push(b.status("offline", local("2026-12-03 18:00")))
    signals += engine.push(a.telemetry(SensorTelemetry(pm25_ugm3=21), local("09:01")))
    signals += engine.flush()
    assert engine.max_ts == ms(local("09:01"))
    assert [(s.key.device, s.active, s.at) for s in signals] == [
        ("thaibinh.env:env-02", True, local("09:00").astimezone(dt.UTC))
    ]


def test_a_late_input_older_than_its_devices_latest_is_dropped() -> None:
    # a message resent after a publish timeout under load arrives behind newer ones: a
    # value from 09:02 arriving after the device's 09:30 must not be replayed as current
    engine = RuleEngine(rules(), allowed_lateness_s=LATENESS_S)
    flood = Device("thaibinh.flood:flood-04", DeviceKind.SENSOR, Sector.ENVIRONMENT)
    old = flood.telemetry(SensorTelemetry(water_level_cm=120.3), local("09:02"))
    signals: list[AlertSignal] = []
    for i in range(31):
        level = 120.0 + i % 3 if i < 20 else 280.0 + i % 3
        signals += engine.push(
            flood.telemetry(SensorTelemetry(water_level_cm=level), local("09:00") + i * MINUTE)
        )
    signals += engine.push(old)
    signals += engine.flush()
    assert engine.stats.late_dropped == 1
    assert [(s.key.rule, s.active) for s in signals] == [("flood-water-level", True)]


class FakeClock:
    """The engine's wall clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


HOLD_S = 0.5
TICK_S = 0.1


def run_held(speed: float, jitter_s: list[float]) -> list[tuple[float, AlertSignal]]:
    """The morning lived at ``speed`` by an engine holding its watermark ``HOLD_S`` of wall
    time (no event-time lateness), each input ``jitter_s`` late on the wall clock, the
    engine ticking every ``TICK_S``; every signal with the wall time it came out."""
    clock = FakeClock()
    engine = RuleEngine(rules(), allowed_lateness_s=0, devices=REGISTRY, hold_s=HOLD_S, clock=clock)
    start = min(event_time(item) for item in morning())
    arrivals = sorted(
        ((event_time(item) - start) / 1000 / speed + jitter_s[i], i)
        for i, item in enumerate(morning())
    )
    out: list[tuple[float, AlertSignal]] = []
    for arrival, i in arrivals:
        while clock.now + TICK_S < arrival:
            clock.now += TICK_S
            out += [(clock.now, signal) for signal in engine.tick()]
        clock.now = arrival
        out += [(clock.now, signal) for signal in engine.push(morning()[i])]
    for _ in range(int(HOLD_S / TICK_S) + 1):
        clock.now += TICK_S
        out += [(clock.now, signal) for signal in engine.tick()]
    assert engine.stats.late_events == 0
    return out


def test_held_in_wall_time_a_signal_comes_out_a_hold_after_its_input_at_x1_and_x60() -> None:
    # the same 0.4 s of link jitter at ×1 and at ×60: under a hold of 0.5 s of wall time
    # both runs give the reference signals, and an intruder — a signal its input causes —
    # is out within the hold (and a tick) of the input's arrival, at either speed
    rng = random.Random(7)
    jitter_s = [rng.uniform(0, 0.4) for _ in morning()]
    gate = "thaibinh.school03:cam-gate-01"
    for speed in (1.0, 60.0):
        released = run_held(speed, jitter_s)
        assert tuple(signal for _, signal in released) == reference(), speed
        start = min(event_time(item) for item in morning())
        wall = next(
            wall for wall, s in released if s.key.device == gate and s.key.rule == "intrusion"
        )
        (index,) = [
            i
            for i, item in enumerate(morning())
            if isinstance(item, PresenceEvent) and item.thing == gate and item.present
        ]
        arrived = (event_time(morning()[index]) - start) / 1000 / speed + jitter_s[index]
        assert arrived + HOLD_S - 1e-9 <= wall <= arrived + HOLD_S + TICK_S + 1e-9, speed


def test_a_hold_that_is_negative_is_refused() -> None:
    with pytest.raises(ValueError, match="hold_s must be >= 0, not -1"):
        RuleEngine(rules(), hold_s=-1)


def test_a_presence_event_behind_its_cameras_own_reports_is_placed_not_dropped() -> None:
    # the hub dates presence by the frame's capture time, behind the camera's own reports
    # by its decoding delay (a minute of event time per second at ×60): the intruder the
    # hub saw at 22:10 is raised when it is learnt, not dropped as out of order
    engine = RuleEngine(rules(), allowed_lateness_s=LATENESS_S)
    gate = Device("thaibinh.school03:cam-gate-01", DeviceKind.CAMERA, Sector.EDUCATION)
    signals: list[AlertSignal] = []
    for i in range(6):
        at = local("22:09") + i * HALF_MINUTE
        signals += engine.push(gate.telemetry(CameraTelemetry(fps=5, bitrate_kbps=400), at))
    seen = local("22:10")
    signals += engine.push(presence(gate.thing, "yard", ZoneType.RESTRICTED, True, seen, people=1))
    signals += engine.flush()
    assert engine.stats.late_dropped == 0
    assert engine.stats.late_events == 1
    intrusions = [(s.active, s.at) for s in signals if s.key.rule == "intrusion"]
    assert intrusions == [(True, (local("22:09") + 5 * HALF_MINUTE).astimezone(dt.UTC))]
