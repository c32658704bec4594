"""Officer absence (camera first, the counter's own flag without one) and queue overload,
both only while the office calendar is open."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from analytics.rules.engine import DeviceInfo
from analytics.rules.ruleset import DEFAULTS
from tests.analytics.rules.feed import (
    MINUTE,
    Device,
    Run,
    engine_for,
    local,
    presence,
    write,
)
from twins.events import NormalizedEvent
from twins.kinds import DeviceKind, Sector
from twins.payloads import (
    BreakEnded,
    BreakStarted,
    CounterTelemetry,
    OfficerLogin,
    OfficerLogout,
    ServiceFinished,
)
from twins.zones import ZoneType

THAIBINH = DEFAULTS / "thaibinh"
HALF_MINUTE = dt.timedelta(seconds=30)
COUNTER = "thaibinh.hcc:counter-07"
CAMERA = "thaibinh.hcc:cam-desk-07"
REGISTRY = [
    DeviceInfo(
        CAMERA,
        DeviceKind.CAMERA,
        "thaibinh.hcc",
        "public_administration",
        {"scene": "counter_desk", "watches": "counter-07"},
    ),
]


class Desk:
    """A counter reporting every 30 s, with its officer's login and breaks."""

    def __init__(self, day: str = "2026-12-02") -> None:
        self.device = Device(COUNTER, DeviceKind.COUNTER, Sector.PUBLIC_ADMINISTRATION)
        self.day = day
        self.present = False
        self.waiting = 0

    def at(self, hhmm: str) -> dt.datetime:
        return local(hhmm, self.day)

    def telemetry_between(self, start: str, end: str) -> list[NormalizedEvent]:
        t, stop, out = self.at(start), self.at(end), []
        while t < stop:
            body = CounterTelemetry(waiting=self.waiting, officer_present=self.present)
            out.append(self.device.telemetry(body, t))
            t += HALF_MINUTE
        return out

    def login(self, hhmm: str) -> NormalizedEvent:
        self.present = True
        return self.device.event(
            OfficerLogin(type="officer_login", officer="Nguyễn Thị Hoa"), self.at(hhmm)
        )

    def logout(self, hhmm: str) -> NormalizedEvent:
        self.present = False
        return self.device.event(
            OfficerLogout(type="officer_logout", officer="Nguyễn Thị Hoa"), self.at(hhmm)
        )

    def away(self, hhmm: str) -> NormalizedEvent:
        self.present = False
        return self.device.event(BreakStarted(type="break_started"), self.at(hhmm))

    def back(self, hhmm: str) -> NormalizedEvent:
        self.present = True
        return self.device.event(BreakEnded(type="break_ended"), self.at(hhmm))


def morning(run: Run, desk: Desk, *, leave: str, back: str) -> None:
    """07:30 opening, login 07:35, away from ``leave`` to ``back``, logout at lunch."""
    desk.waiting = 3
    run.feed(*desk.telemetry_between("07:30", "07:35"))
    run.feed(desk.login("07:35"))
    run.feed(*desk.telemetry_between("07:35", leave))
    run.feed(desk.away(leave))
    run.feed(*desk.telemetry_between(leave, back))
    run.feed(desk.back(back))
    run.feed(*desk.telemetry_between(back, "11:45"))
    run.feed(desk.logout("11:45"))
    desk.waiting = 0
    run.feed(*desk.telemetry_between("11:45", "12:30"))
    run.finish()


def test_an_officer_away_longer_than_the_rule_allows() -> None:
    run = engine_for(THAIBINH)
    morning(run, Desk(), leave="10:05", back="10:40")
    assert run.of("officer-absent") == [
        (True, local("10:15"), COUNTER, ""),
        (False, local("10:40"), COUNTER, ""),
    ]
    raised = run.signals[0]
    assert raised.severity.label == "major"
    assert raised.details["officer"] == "Nguyễn Thị Hoa"
    assert raised.details["source"] == "counter"
    assert "vắng mặt tại quầy hơn 10 phút (từ 10:05), 3 công dân đang chờ" in raised.message_vi


def test_a_short_break_and_the_lunch_break_raise_nothing() -> None:
    run = engine_for(THAIBINH)
    morning(run, Desk(), leave="09:00", back="09:06")
    assert run.of("officer-absent") == []


def test_an_absence_running_into_lunch_ends_with_the_session() -> None:
    run = engine_for(THAIBINH)
    morning(run, Desk(), leave="11:20", back="11:44:30")
    assert run.of("officer-absent") == [
        (True, local("11:30"), COUNTER, ""),
        (False, local("11:44:30"), COUNTER, ""),
    ]
    run = engine_for(THAIBINH)
    desk = Desk()
    desk.waiting = 2
    run.feed(desk.login("07:30"), *desk.telemetry_between("07:30", "11:30"))
    run.feed(desk.away("11:30"), *desk.telemetry_between("11:30", "12:30"))
    run.finish()
    # still away when the session closes at 11:45: cleared by the calendar, not an event
    assert run.of("officer-absent") == [
        (True, local("11:40"), COUNTER, ""),
        (False, local("11:45"), COUNTER, ""),
    ]


def test_citizens_waiting_after_lunch_with_nobody_logged_in() -> None:
    # the officer logs out at lunch and is 20 minutes late; tickets wait from 13:00
    run = engine_for(THAIBINH)
    desk = Desk()
    desk.waiting = 4
    run.feed(*desk.telemetry_between("13:00", "13:50"))
    run.feed(desk.login("13:50"), *desk.telemetry_between("13:50", "14:00"))
    run.finish()
    # the condition starts when the session opens at 13:30 (no message marks it)
    assert run.of("officer-absent") == [
        (True, local("13:40"), COUNTER, ""),
        (False, local("13:50"), COUNTER, ""),
    ]


def test_a_closed_counter_with_nobody_waiting_is_not_an_absence() -> None:
    run = engine_for(THAIBINH)
    desk = Desk()
    run.feed(*desk.telemetry_between("13:30", "15:00"))  # logged out, no tickets
    run.finish()
    assert run.of("officer-absent") == []


def test_no_absence_on_tet() -> None:
    run = engine_for(THAIBINH)
    morning(run, Desk(day="2026-02-17"), leave="10:05", back="10:40")
    assert run.of("officer-absent") == []


def test_the_desk_camera_decides_when_the_counter_has_one() -> None:
    run = engine_for(THAIBINH, devices=REGISTRY)
    desk = Desk()
    desk.waiting = 5
    run.feed(desk.login("08:00"), *desk.telemetry_between("08:00", "08:30"))
    # the counter says the officer is there (logged in, no break) but the camera sees the
    # desk empty from 08:30:12 to 08:52:40
    run.feed(presence(CAMERA, "officer", ZoneType.DESK, False, local("08:30:12")))
    run.feed(*desk.telemetry_between("08:30", "08:52"))
    run.feed(presence(CAMERA, "officer", ZoneType.DESK, True, local("08:52:40")))
    run.feed(*desk.telemetry_between("08:52", "09:10"))
    run.finish()
    assert run.of("officer-absent") == [
        (True, local("08:40:12"), COUNTER, ""),
        (False, local("08:52:40"), COUNTER, ""),
    ]
    assert run.signals[0].details["source"] == "camera"
    assert run.signals[0].sector == "public_administration"


def test_a_desk_named_in_the_rule_file(tmp_path: Path) -> None:
    write(tmp_path, "calendars.yaml", (THAIBINH / "calendars.yaml").read_text(encoding="utf-8"))
    write(
        tmp_path,
        "counters.yaml",
        """\
site: thaibinh.tiepdan
kind: counter
rules:
  - id: absent
    type: officer_absence
    minutes: 5
    desks: {counter-02: {camera: cam-desk-02, zone: desk-left}}
""",
    )
    run = engine_for(tmp_path, lateness_s=0)
    counter = Device("thaibinh.tiepdan:counter-02", DeviceKind.COUNTER, Sector.CITIZEN_RECEPTION)
    camera = "thaibinh.tiepdan:cam-desk-02"
    run.feed(
        counter.event(OfficerLogin(type="officer_login", officer="Trần Văn Nam"), local("14:00"))
    )
    run.feed(presence(camera, "desk-right", ZoneType.DESK, False, local("14:10")))  # not its zone
    run.feed(presence(camera, "desk-left", ZoneType.DESK, False, local("14:11")))
    for i in range(1, 12):
        body = CounterTelemetry(waiting=1, officer_present=True)
        run.feed(counter.telemetry(body, local("14:11") + i * MINUTE))
    assert run.of("absent") == [(True, local("14:16"), "thaibinh.tiepdan:counter-02", "")]


def test_queue_overload_for_ten_minutes_in_office_hours() -> None:
    run = engine_for(THAIBINH)
    desk = Desk()
    run.feed(desk.login("08:00"))
    desk.waiting = 10
    run.feed(*desk.telemetry_between("08:00", "09:00"))
    desk.waiting = 18  # above max_waiting 15 from 09:00
    run.feed(*desk.telemetry_between("09:00", "09:25"))
    desk.waiting = 12
    run.feed(*desk.telemetry_between("09:25", "09:40"))
    run.finish()
    assert run.of("queue-overload") == [
        (True, local("09:10"), COUNTER, ""),
        (False, local("09:25"), COUNTER, ""),
    ]
    assert run.signals[0].details["waiting"] == 18


def test_queue_overload_by_estimated_wait_from_measured_service_times(tmp_path: Path) -> None:
    write(tmp_path, "calendars.yaml", (THAIBINH / "calendars.yaml").read_text(encoding="utf-8"))
    write(
        tmp_path,
        "counters.yaml",
        """\
site: "thaibinh.*"
kind: counter
rules:
  - {id: long-wait, type: queue_overload, max_wait_minutes: 60, min_duration_s: 0}
""",
    )
    run = engine_for(tmp_path, lateness_s=0)
    desk = Desk()
    desk.waiting = 5  # 5 × 10 min assumed: 50 min, under target
    run.feed(*desk.telemetry_between("14:00", "14:05"))
    assert run.of("long-wait") == []
    # land registrations take 15 minutes here: 5 × 15 = 75 min
    run.feed(
        desk.device.event(
            ServiceFinished(type="service_finished", ticket="A012", service="land", duration_s=900),
            local("14:05"),
        )
    )
    run.feed(*desk.telemetry_between("14:05", "14:06"))
    assert run.of("long-wait") == [(True, local("14:05"), COUNTER, "")]
    assert run.signals[0].details["estimated_wait_min"] == 75


def test_no_queue_overload_during_lunch() -> None:
    run = engine_for(THAIBINH)
    desk = Desk()
    desk.waiting = 30
    run.feed(*desk.telemetry_between("11:50", "13:20"))
    run.finish()
    assert run.of("queue-overload") == []
