"""Threshold (hysteresis, minimum duration) and stuck-value rules on sensor telemetry."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from analytics.rules.ruleset import DEFAULTS
from tests.analytics.rules.feed import MINUTE, Device, engine_for, local, write
from twins.events import NormalizedEvent
from twins.kinds import DeviceKind, Sector
from twins.payloads import SensorTelemetry

THAIBINH = DEFAULTS / "thaibinh"


def flood_wave(
    device: Device, levels: Sequence[float], start: str = "09:30"
) -> list[NormalizedEvent]:
    at = local(start)
    return [
        device.telemetry(SensorTelemetry(water_level_cm=level), at + i * MINUTE)
        for i, level in enumerate(levels)
    ]


def test_water_level_alert_with_hysteresis() -> None:
    run = engine_for(THAIBINH)
    flood = Device("thaibinh.flood:flood-04", DeviceKind.SENSOR, Sector.ENVIRONMENT)
    # rises past 250 at 09:33, dips to 245 (inside the hysteresis band), clears at 237
    levels = [200, 230, 248, 262, 300, 320, 245, 255, 240, 237, 220]
    run.feed(*flood_wave(flood, levels))
    run.finish()
    assert run.of("flood-water-level") == [
        (True, local("09:33"), "thaibinh.flood:flood-04", ""),
        (False, local("09:39"), "thaibinh.flood:flood-04", ""),
    ]
    raised = next(s for s in run.signals if s.active)
    assert raised.severity.label == "critical"
    assert raised.site == "thaibinh.flood"
    assert raised.sector == "environment"
    assert raised.details["limit"] == 250
    assert "mực nước 262 cm vượt ngưỡng 250 cm từ 09:33" in raised.message_vi
    assert "water level 262 cm above the limit 250 cm" in raised.message_en


def test_other_flood_sensors_and_other_fields_are_left_alone() -> None:
    run = engine_for(THAIBINH)
    calm = Device("thaibinh.flood:flood-05", DeviceKind.SENSOR, Sector.ENVIRONMENT)
    air = Device("thaibinh.env:env-01", DeviceKind.SENSOR, Sector.ENVIRONMENT)
    run.feed(*flood_wave(calm, [120, 125, 130]))
    run.feed(air.telemetry(SensorTelemetry(temperature_c=24.0, pm25_ugm3=70.0), local("09:31:45")))
    run.feed(air.telemetry(SensorTelemetry(temperature_c=24.1, pm25_ugm3=48.0), local("09:32:45")))
    run.finish()
    assert run.of("flood-water-level") == []
    assert run.of("env-temperature") == []
    assert run.of("env-pm25") == [
        (True, local("09:31:45"), "thaibinh.env:env-01", ""),
        (False, local("09:32:45"), "thaibinh.env:env-01", ""),
    ]


def test_minimum_duration_dates_the_alert_when_it_is_reached(tmp_path: Path) -> None:
    write(
        tmp_path,
        "air.yaml",
        """\
site: "thaibinh.*"
kind: sensor
rules:
  - {id: noise, type: threshold, field: noise_dba, above: 80, min_duration_s: 300}
""",
    )
    run = engine_for(tmp_path, lateness_s=0)
    street = Device("thaibinh.env:env-03", DeviceKind.SENSOR, Sector.ENVIRONMENT)
    # a 2-minute burst of noise raises nothing; a 7-minute one raises at its 5th minute
    values = [70, 85, 86, 70, 70, 84, 88, 90, 87, 85, 83, 82, 70]
    for i, value in enumerate(values):
        run.feed(street.telemetry(SensorTelemetry(noise_dba=value), local("21:00") + i * MINUTE))
    assert run.of("noise") == [
        (True, local("21:10"), "thaibinh.env:env-03", ""),
        (False, local("21:12"), "thaibinh.env:env-03", ""),
    ]


def test_minimum_duration_fires_on_the_watermark_between_samples(tmp_path: Path) -> None:
    write(
        tmp_path,
        "air.yaml",
        """\
site: "thaibinh.*"
kind: sensor
rules:
  - {id: heat, type: threshold, field: temperature_c, above: 35, min_duration_s: 90}
""",
    )
    run = engine_for(tmp_path, lateness_s=0)
    roof = Device("thaibinh.env:env-09", DeviceKind.SENSOR, Sector.ENVIRONMENT)
    other = Device("thaibinh.env:env-10", DeviceKind.SENSOR, Sector.ENVIRONMENT)
    run.feed(roof.telemetry(SensorTelemetry(temperature_c=36.5), local("14:00")))
    run.feed(roof.telemetry(SensorTelemetry(temperature_c=36.8), local("14:01")))
    assert run.of("heat") == []
    # another sensor's message moves event time past 14:01:30: the duration is reached
    run.feed(other.telemetry(SensorTelemetry(temperature_c=30.0), local("14:01:40")))
    assert run.of("heat") == [(True, local("14:01:30"), "thaibinh.env:env-09", "")]


def test_a_below_limit_rule(tmp_path: Path) -> None:
    write(
        tmp_path,
        "cold.yaml",
        """\
site: "thaibinh.*"
kind: sensor
rules:
  - {id: cold, type: threshold, field: temperature_c, below: 8, clear_at: 10}
""",
    )
    run = engine_for(tmp_path, lateness_s=0)
    store = Device("thaibinh.bv-nhi:env-01", DeviceKind.SENSOR, Sector.HEALTH)
    for i, value in enumerate([12, 9, 7.5, 9, 9.9, 10, 11]):
        run.feed(store.telemetry(SensorTelemetry(temperature_c=value), local("03:00") + i * MINUTE))
    assert [(a, t) for a, t, _, _ in run.of("cold")] == [
        (True, local("03:02")),
        (False, local("03:05")),
    ]


def test_a_stuck_sensor() -> None:
    run = engine_for(THAIBINH)
    stuck = Device("thaibinh.env:env-07", DeviceKind.SENSOR, Sector.ENVIRONMENT)
    start = local("09:50")
    readings = []
    for i in range(60):
        at = start + i * MINUTE
        if local("10:00") <= at < local("10:40"):
            body = SensorTelemetry(temperature_c=24.31, humidity_pct=70.2, noise_dba=61.0)
        else:
            body = SensorTelemetry(
                temperature_c=24 + i / 100, humidity_pct=70 + i / 10, noise_dba=60 + i % 3
            )
        readings.append(stuck.telemetry(body, at))
    run.feed(*readings)
    run.finish()
    # the same values from 10:00; minutes: 15 and samples: 10 → raised at the 10:15 sample
    assert run.of("sensor-stuck") == [
        (True, local("10:15"), "thaibinh.env:env-07", ""),
        (False, local("10:40"), "thaibinh.env:env-07", ""),
    ]
    raised = next(s for s in run.signals if s.key.rule == "sensor-stuck")
    assert raised.details["since"] == round(local("10:00").timestamp() * 1000)


def test_values_that_move_are_not_stuck() -> None:
    run = engine_for(THAIBINH)
    fine = Device("thaibinh.env:env-08", DeviceKind.SENSOR, Sector.ENVIRONMENT)
    for i in range(40):
        body = SensorTelemetry(temperature_c=24.0 + (i % 2) / 100)
        run.feed(fine.telemetry(body, local("10:00") + i * MINUTE))
    run.finish()
    assert run.of("sensor-stuck") == []
