"""Offline or stale devices (judged on the event-time watermark), and camera streams down."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from analytics.rules.inputs import StreamHealthEvent
from analytics.rules.ruleset import DEFAULTS
from tests.analytics.rules.feed import MINUTE, Device, engine_for, health, local, write
from twins.kinds import DeviceKind, Sector
from twins.payloads import CameraTelemetry, DeviceState, SensorTelemetry
from video.health import twin_properties
from video.source import StreamHealth, StreamState

THAIBINH = DEFAULTS / "thaibinh"
HALF_MINUTE = dt.timedelta(seconds=30)


def test_a_camera_that_dies_goes_stale_after_three_intervals_of_event_time() -> None:
    run = engine_for(THAIBINH)
    dying = Device("thaibinh.bv-nhi:cam-corridor-02", DeviceKind.CAMERA, Sector.HEALTH)
    alive = Device("thaibinh.bv-nhi:cam-corridor-01", DeviceKind.CAMERA, Sector.HEALTH)
    for i in range(40):  # cameras report every 30 s; corridor-02 dies after 09:45
        at = local("09:30") + i * HALF_MINUTE
        run.feed(alive.telemetry(CameraTelemetry(fps=5, bitrate_kbps=512), at))
        if at <= local("09:45"):
            run.feed(dying.telemetry(CameraTelemetry(fps=5, bitrate_kbps=512), at))
    run.finish()
    assert run.of("camera-offline") == [
        (True, local("09:46:30"), "thaibinh.bv-nhi:cam-corridor-02", "")
    ]
    raised = next(s for s in run.signals if s.key.rule == "camera-offline")
    assert raised.details["cause"] == "silent"
    assert "không nhận được dữ liệu từ 09:45 (90 giây)" in raised.message_vi


def test_silence_is_not_judged_while_event_time_stands_still() -> None:
    # no other device moves the watermark: a lone sensor is not declared stale, whatever
    # the wall clock says (a replay at any speed sees the same)
    run = engine_for(THAIBINH)
    lone = Device("thaibinh.flood:flood-01", DeviceKind.SENSOR, Sector.ENVIRONMENT)
    run.feed(lone.telemetry(SensorTelemetry(water_level_cm=120), local("09:00")))
    assert run.of("sensor-offline") == []
    # event time moves on (a later replay chunk, or the site's idle clock)
    run.signals += run.engine.advance_to(round(local("09:03:30").timestamp() * 1000))
    assert run.of("sensor-offline") == [(True, local("09:03"), "thaibinh.flood:flood-01", "")]


def test_the_reported_interval_sets_the_silence_allowed() -> None:
    run = engine_for(THAIBINH, lateness_s=0)
    slow = Device("thaibinh.env:env-15", DeviceKind.SENSOR, Sector.ENVIRONMENT)
    clock = Device("thaibinh.env:env-16", DeviceKind.SENSOR, Sector.ENVIRONMENT)
    run.feed(slow.state(DeviceState(report_interval_s=300), local("08:00")))
    run.feed(slow.telemetry(SensorTelemetry(pm25_ugm3=30), local("08:00")))
    for i in range(1, 15):
        run.feed(clock.telemetry(SensorTelemetry(pm25_ugm3=30), local("08:00") + i * MINUTE))
    assert run.of("sensor-offline") == []  # 14 minutes of silence < 3 × 5 minutes
    run.feed(clock.telemetry(SensorTelemetry(pm25_ugm3=30), local("08:15")))
    assert run.of("sensor-offline") == [(True, local("08:15"), "thaibinh.env:env-15", "")]


def test_a_last_will_raises_at_once_and_the_birth_clears() -> None:
    run = engine_for(THAIBINH, lateness_s=0)
    flood = Device("thaibinh.flood:flood-09", DeviceKind.SENSOR, Sector.ENVIRONMENT)
    other = Device("thaibinh.flood:flood-10", DeviceKind.SENSOR, Sector.ENVIRONMENT)
    run.feed(flood.telemetry(SensorTelemetry(water_level_cm=130), local("12:59")))
    # the will has no ts: ingest stamps it with its own clock, here (×60) a day later;
    # it is placed at the newest device time instead
    run.feed(flood.status("offline", local("2026-12-03 15:00")))
    for i in range(1, 21):
        run.feed(other.telemetry(SensorTelemetry(water_level_cm=120), local("12:59") + i * MINUTE))
    # reconnected at 13:19: the birth, then the buffer (which does not clear by itself)
    run.feed(flood.status("online", local("2026-12-03 15:20")))
    run.feed(flood.telemetry(SensorTelemetry(water_level_cm=131), local("13:00")))
    assert run.of("sensor-offline") == [
        (True, local("12:59"), "thaibinh.flood:flood-09", ""),
        (False, local("13:19"), "thaibinh.flood:flood-09", ""),
    ]
    assert run.signals[0].details["cause"] == "status"


def test_a_buffer_flushed_ahead_of_the_birth_does_not_end_a_last_will() -> None:
    run = engine_for(THAIBINH, lateness_s=0)
    flood = Device("thaibinh.flood:flood-09", DeviceKind.SENSOR, Sector.ENVIRONMENT)
    run.feed(flood.telemetry(SensorTelemetry(water_level_cm=130), local("12:59")))
    run.feed(flood.status("offline", local("2026-12-03 15:00")))
    run.feed(flood.telemetry(SensorTelemetry(water_level_cm=131), local("13:00")))
    run.feed(flood.telemetry(SensorTelemetry(water_level_cm=131), local("13:30")))
    run.finish()
    assert run.of("sensor-offline") == [(True, local("12:59"), "thaibinh.flood:flood-09", "")]


def test_a_stream_the_hub_cannot_pull_for_a_minute(tmp_path: Path) -> None:
    run = engine_for(THAIBINH, lateness_s=0)
    gate = "thaibinh.school03:cam-gate-01"
    run.feed(health(gate, False, local("10:00"), error="RTSP 404"))
    run.feed(health(gate, True, local("10:00:30")))  # a blip: nothing
    run.feed(health(gate, False, local("10:10"), error="connection refused"))
    run.feed(health(gate, True, local("10:25")))
    run.finish()
    assert run.of("camera-stream-down") == [
        (True, local("10:11"), gate, ""),
        (False, local("10:25"), gate, ""),
    ]
    raised = next(s for s in run.signals if s.active)
    assert raised.details["error"] == "connection refused"
    assert "mất luồng video từ 10:10: connection refused" in raised.message_vi


def test_a_camera_reporting_no_frames(tmp_path: Path) -> None:
    write(
        tmp_path,
        "cameras.yaml",
        """\
site: "thaibinh.*"
kind: camera
rules:
  - {id: no-frames, type: stream_down, min_down_s: 60, min_fps: 1}
""",
    )
    run = engine_for(tmp_path, lateness_s=0)
    cam = Device("thaibinh.hcc:cam-corridor-01", DeviceKind.CAMERA, Sector.PUBLIC_ADMINISTRATION)
    fps = [5, 5, 0, 0, 0, 0, 5]
    for i, value in enumerate(fps):
        run.feed(
            cam.telemetry(
                CameraTelemetry(fps=value, bitrate_kbps=0), local("08:00") + i * HALF_MINUTE
            )
        )
    assert run.of("no-frames") == [
        (True, local("08:02"), "thaibinh.hcc:cam-corridor-01", ""),
        (False, local("08:03"), "thaibinh.hcc:cam-corridor-01", ""),
    ]


def test_stream_health_read_from_what_the_hub_writes_in_the_twin() -> None:
    # the hub's own formatting of the camera twin's stream feature (video/health.py)
    since = local("10:10").timestamp()
    down = StreamHealth(
        StreamState.DOWN, since, 0.0, 0.0, since - 3, "connection refused", None, None, None
    )
    event = StreamHealthEvent.from_stream_properties(
        "thaibinh.school03:cam-gate-01", twin_properties(down, viewers=0)
    )
    assert event is not None
    assert not event.up
    assert event.at == local("10:10")
    assert event.error == "connection refused"
    up = StreamHealth(StreamState.UP, since + 900, 5.0, 480.0, since + 900, None, "h264", 320, 240)
    event = StreamHealthEvent.from_stream_properties("x.y:cam", twin_properties(up, viewers=2))
    assert event is not None
    assert event.up
    assert event.fps == 5.0
    assert StreamHealthEvent.from_stream_properties("x.y:cam", {"health": None}) is None
