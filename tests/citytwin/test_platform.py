"""The whole platform end to end: `citytwin up`, then a simulated site through it."""

from __future__ import annotations

import base64
import json
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

import httpx

from tests.citytwin.running import citytwin, wait_healthy
from tests.ingest.support import wait_until


def influx_count(env: dict[str, str], measurement: str, field: str) -> int:
    query = urllib.parse.urlencode(
        {"db": "citytwin", "q": f"SELECT count({field}) FROM {measurement}"}
    )
    request = urllib.request.Request(f"{env['CITYTWIN_INFLUX__URL']}/query?{query}")
    password = (
        Path(env["CITYTWIN_STATE_DIR"]) / "secrets" / "influx-citytwin-password"
    ).read_text()
    basic = base64.b64encode(f"citytwin:{password.strip()}".encode()).decode()
    request.add_header("Authorization", f"Basic {basic}")
    with urllib.request.urlopen(request, timeout=10) as r:
        series = json.load(r)["results"][0].get("series")
    return int(series[0]["values"][0][1]) if series else 0


def test_a_simulated_site_flows_into_influxdb_and_the_twins(
    running_stack: subprocess.Popen[str], stack_env: dict[str, str], tmp_path: Path
) -> None:
    """`up` without a scenario, then `simulate` provisions its own devices: ingest must
    know them (no `unknown_device` dead letters), InfluxDB and the twins must fill; the
    room books its day in the embedded Radicale and the calendar sync brings it to its twin."""
    wait_healthy(stack_env, running_stack, tmp_path / "up.log")
    result = citytwin(
        "simulate", "smoke", "--speed", "600", "--duration", "20s", "--no-video", env=stack_env
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert influx_count(stack_env, "counter_telemetry", "waiting") > 0
    assert influx_count(stack_env, "sensor_telemetry", "water_level_cm") > 0
    metrics = httpx.get(f"http://127.0.0.1:{stack_env['CITYTWIN_INGEST__METRICS_PORT']}/metrics")
    assert 'reason="unknown_device"' not in metrics.text
    password = (tmp_path / "var" / "secrets" / "twins-password").read_text().strip()
    twin = httpx.get(
        f"http://127.0.0.1:{stack_env['CITYTWIN_HTTP__PORT']}/api/2/things/smoke.hcc:counter-01",
        auth=("citytwin", password),
    )
    assert twin.status_code == 200, twin.text
    assert twin.json()["features"]["connectivity"]["properties"]["lastSeen"]

    def schedule() -> list[dict[str, object]]:
        room = httpx.get(
            f"http://127.0.0.1:{stack_env['CITYTWIN_HTTP__PORT']}/api/2/things/smoke.hcc:room-01"
            "/features/booking/properties/schedule",
            auth=("citytwin", password),
        )
        found: list[dict[str, object]] = room.json() if room.status_code == 200 else []
        return found

    booked = wait_until(schedule, "the room's bookings in its twin", timeout=90)
    assert all(str(b["booking"]).startswith("BK-") for b in booked), booked
    assert influx_count(stack_env, "booking", "booking") == len(booked)
