"""The live platform's alerts and KPIs against the simulators' ground truth, over a day.

    .venv/bin/python benchmarks/ground_truth_bench.py day [--minutes 24] [--out DIR]
    .venv/bin/python benchmarks/ground_truth_bench.py score DIR

``day`` runs ``citytwin up --scenario thaibinh --speed 60`` — Mosquitto, InfluxDB, the
HTTP app with the twin service, ingest, the camera hub with presence analytics, the
analytics process and the simulators, every one its own process — in a fresh state
directory on free ports, for ``--minutes`` of wall time (24: a whole simulated day, from
07:00 of the scenario's day to 07:00 of the next). The cameras that stream get the zones
an operator would draw, through the twin API, as soon as the twins exist: a desk zone on
each counter-desk camera, a restricted yard on each gate camera (the school's at night,
the reception office's over lunch). Before the stack stops, the ``alert`` and ``kpi``
points are read from InfluxDB into ``DIR``; after it stops (the simulators then write the
intervals still open) the ground truth is copied there too, so ``score`` can be run again
on the same day.

``score`` holds the alerts against the truth's episodes per rule type (precision, recall,
onset delay in event time) and every day KPI of the live process against the same KPI
computed from the truth (`tests.analytics.scoring`, `tests.analytics.kpis.truth`), and
prints Markdown tables for docs/performance.md. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.kpis.catalogue import CATALOGUE, TruthCheck
from analytics.kpis.settings import KpiSettings, OfficeCalendar
from analytics.kpis.windows import PROVINCE_TZ, day_bounds, local_day
from simulators.groundtruth import read_ground_truth
from simulators.scenario import CameraScene, Scenario, load_scenario
from tests.analytics import scoring
from tests.analytics.kpis.truth import excursion_hours, truth_kpis
from tests.services import free_port
from twins.kinds import DeviceKind
from twins.registry import Registry

ROOT = Path(__file__).resolve().parent.parent
DESK = [[0.3, 0.1], [0.7, 0.1], [0.7, 0.7], [0.3, 0.7]]
"""Where the officer sits in the simulators' counter-desk scene (``simulators.scenes``)."""
YARD = [[0.2, 0.3], [0.95, 0.3], [0.95, 1.0], [0.2, 1.0]]
"""The yard behind a gate camera's bars, where passers-by and intruders walk."""
RESTRICTED_HOURS = {
    "thaibinh.school03": {"start": "22:00", "end": "05:00"},
    "thaibinh.tiepdan": {
        "start": "11:45",
        "end": "13:30",
        "days": ["mon", "tue", "wed", "thu", "fri"],
    },
}
"""When each gate's yard is closed: the scenario's intrusions are at 22:10 at the school and
over lunch at the reception office. A gate of another site is not watched."""
OFFICE_HOURS = {"start": "07:30", "end": "17:00", "days": ["mon", "tue", "wed", "thu", "fri"]}


# --- the run -----------------------------------------------------------------------------


def scenario_copy(directory: Path) -> Path:
    """The bundled thaibinh scenario with its RTSP relay on free ports (a relay of another
    run on this machine keeps its own)."""
    path = ROOT / "simulators" / "scenarios" / "thaibinh.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    video = document.setdefault("video", {})
    video["client_port"] = free_port()
    video["source_port"] = free_port()
    video["rtp_start_port"] = 30000 + (os.getpid() % 300) * 100
    target = directory / "thaibinh.yaml"
    target.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return target


def platform_env(state: Path) -> dict[str, str]:
    influx = free_port()
    while not _free(influx + 2):
        influx = free_port()
    env = dict(os.environ)
    env.update(
        {
            "CITYTWIN_STATE_DIR": str(state),
            "CITYTWIN_LANGUAGE": "en",
            "CITYTWIN_MQTT__PORT": str(free_port()),
            "CITYTWIN_INFLUX__URL": f"http://127.0.0.1:{influx}",
            "CITYTWIN_HTTP__PORT": str(free_port()),
            "CITYTWIN_INGEST__METRICS_PORT": str(free_port()),
            "CITYTWIN_VIDEO__PORT": str(free_port()),
            "CITYTWIN_ANALYTICS__HEALTH_PORT": str(free_port()),
        }
    )
    return env


def _free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def camera_zones(scenario: Scenario) -> dict[str, list[dict[str, Any]]]:
    """The zones of the cameras that stream, by thing id."""
    registry = Registry(scenario.registry_spec())
    streamed = set(scenario.video.streams)
    zones: dict[str, list[dict[str, Any]]] = {}
    for device in registry:
        thing = str(device.thing_id)
        if thing not in streamed and "*" not in streamed:
            continue
        scene = device.attributes.get("scene")
        if scene == CameraScene.COUNTER_DESK.value:
            zones[thing] = [{"id": "desk", "type": "desk", "polygon": DESK, "hours": OFFICE_HOURS}]
        elif scene == CameraScene.GATE.value and device.site_id in RESTRICTED_HOURS:
            hours = RESTRICTED_HOURS[device.site_id]
            zones[thing] = [{"id": "yard", "type": "restricted", "polygon": YARD, "hours": hours}]
    return zones


def draw_zones(base: str, password: str, zones: dict[str, list[dict[str, Any]]]) -> None:
    """PUT each camera's zones as soon as its twin exists (the hub rereads them every 5 s)."""
    pending = dict(zones)
    deadline = time.monotonic() + 120
    with httpx.Client(base_url=base, auth=("citytwin", password), timeout=10) as client:
        while pending and time.monotonic() < deadline:
            for thing, body in list(pending.items()):
                try:
                    answer = client.put(
                        f"/api/2/things/{thing}/features/zones/properties/zones", json=body
                    )
                except httpx.HTTPError:
                    continue
                if answer.status_code in (200, 201, 204):
                    del pending[thing]
            time.sleep(0.2)
    if pending:
        raise SystemExit(f"zones not drawn on {sorted(pending)}")


def influx_query(env: dict[str, str], state: Path, influxql: str) -> dict[str, Any]:
    password = (state / "secrets" / "influx-citytwin-password").read_text().strip()
    answer = httpx.get(
        env["CITYTWIN_INFLUX__URL"] + "/query",
        params={"db": "citytwin", "q": influxql, "epoch": "ms"},
        auth=("citytwin", password),
        timeout=120,
    )
    answer.raise_for_status()
    result: dict[str, Any] = answer.json()["results"][0]
    return result


def series_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Every row of an InfluxQL result as a dict (tags of its series included)."""
    rows = []
    for series in result.get("series", []):
        for values in series["values"]:
            row = dict(zip(series["columns"], values, strict=True))
            row.update(series.get("tags", {}))
            rows.append(row)
    return rows


def newest_device_time(env: dict[str, str], state: Path) -> float | None:
    result = influx_query(env, state, "SELECT last(seq) FROM /_telemetry$/")
    times = [s["values"][0][0] / 1000 for s in result.get("series", [])]
    return max(times) if times else None


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"citytwin up ended with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} not healthy after {timeout:.0f} s")


def run_day(out: Path, minutes: float) -> None:
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="citytwin-day-"))
    state = work / "var"
    env = platform_env(state)
    scenario_path = scenario_copy(work)
    scenario = load_scenario(scenario_path)
    command = [
        sys.executable, "-m", "citytwin", "up",
        "--scenario", str(scenario_path), "--speed", str(scenario.speed),
    ]  # fmt: skip
    print("$", " ".join(command), flush=True)
    log = (out / "up.log").open("wb")
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    started = time.monotonic()
    try:
        http = f"http://127.0.0.1:{env['CITYTWIN_HTTP__PORT']}"
        wait_healthy(http + "/health", process, 180)
        password = (state / "secrets" / "twins-password").read_text().strip()
        draw_zones(http, password, camera_zones(scenario))
        print(f"zones drawn {time.monotonic() - started:.0f} s after start", flush=True)
        while time.monotonic() - started < minutes * 60:
            if process.poll() is not None:
                raise SystemExit(f"citytwin up ended with {process.returncode}")
            time.sleep(30)
            newest = newest_device_time(env, state)
            shown = (
                "-" if newest is None else f"{datetime.fromtimestamp(newest, PROVINCE_TZ):%a %H:%M}"
            )
            print(f"{(time.monotonic() - started) / 60:5.1f} min: devices at {shown}", flush=True)
        horizon = newest_device_time(env, state)
        alerts = series_rows(influx_query(env, state, "SELECT * FROM alert"))
        kpis = series_rows(
            influx_query(
                env, state,
                "SELECT value FROM kpi WHERE part !~ /./ AND \"window\" = 'day'"
                " GROUP BY kpi, scope",
            )
        )  # fmt: skip
        (out / "alerts.json").write_text(json.dumps(alerts), encoding="utf-8")
        (out / "kpis.json").write_text(json.dumps(kpis), encoding="utf-8")
        (out / "run.json").write_text(
            json.dumps({"horizon": horizon, "wall_minutes": minutes, "command": command}),
            encoding="utf-8",
        )
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        for name in ("analytics", "video", "simulate", "ingest"):
            log_file = state / "logs" / f"{name}.log"
            if log_file.exists():
                shutil.copy(log_file, out / f"{name}.log")
        truths = sorted((state / "simulations").glob("*/ground-truth.jsonl"))
        if truths:
            shutil.copy(truths[-1], out / "ground-truth.jsonl")
        shutil.copy(scenario_path, out / "thaibinh.yaml")
        shutil.rmtree(work, ignore_errors=True)
    print(f"run kept in {out}", flush=True)


# --- the score ---------------------------------------------------------------------------


def kpi_settings(scenario: Scenario) -> KpiSettings:
    office = scenario.office
    return KpiSettings(
        office=OfficeCalendar(
            days=tuple(office.days),
            opens=office.opens,
            lunch_starts=office.lunch_starts,
            lunch_ends=office.lunch_ends,
            closes=office.closes,
        )
    )


CAMERA_ABSENCE = "officer_absence, desk camera"
Scored = TypeVar("Scored", scoring.Episode, scoring.RaisedAlert)


def watched_counters(scenario: Scenario) -> set[str]:
    """The counters whose desk a streamed camera watches: their absences come from the
    video presence signal, the others' from the counter's own ``officer_present``."""
    registry = Registry(scenario.registry_spec())
    return {
        f"{device.site_id}:{device.attributes['watches']}"
        for device in registry
        if str(device.thing_id) in camera_zones(scenario) and "watches" in device.attributes
    }


def by_signal(item: Scored, watched: set[str]) -> Scored:
    """An absence on a camera-watched counter, scored apart."""
    if item.rule_type == "officer_absence" and item.device in watched:
        return dataclasses.replace(item, rule_type=CAMERA_ABSENCE)
    return item


def score(out: Path) -> None:
    scenario = load_scenario(out / "thaibinh.yaml")
    registry = Registry(scenario.registry_spec())
    lines = read_ground_truth(out / "ground-truth.jsonl")
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    alert_rows = json.loads((out / "alerts.json").read_text(encoding="utf-8"))
    kpi_rows = json.loads((out / "kpis.json").read_text(encoding="utf-8"))
    horizon = float(run["horizon"]) - scoring.SETTLE_S
    first = min(scoring.epoch(line["start"]) for line in lines)
    day: date = local_day(first, PROVINCE_TZ)
    watched = watched_counters(scenario)
    episodes = [by_signal(e, watched) for e in scoring.episodes_of(lines)]
    alerts = [by_signal(a, watched) for a in scoring.alerts_of(alert_rows)]
    scores = scoring.score_alerts(episodes, alerts, until=horizon)
    print(f"\nday {day}, scored until {datetime.fromtimestamp(horizon, PROVINCE_TZ):%a %H:%M}\n")
    print(scoring.alert_table(scores))
    begin, _ = day_bounds(day, PROVINCE_TZ)
    measured = {
        (row["kpi"], row["scope"], "day", row["time"] / 1000): float(row["value"])
        for row in kpi_rows
        if row["time"] / 1000 == begin
    }
    truth = truth_values(lines, registry, scenario, day)
    checks = {kpi.id: kpi.truth for kpi in CATALOGUE}
    compared = {k: v for k, v in truth.items() if checks[k[0]] is not TruthCheck.NOT_IN_TRUTH}
    comparisons = scoring.compare_kpis(measured, compared)
    print()
    print(scoring.kpi_table(comparisons))
    left_out = sorted({k[0] for k in measured} - {k[0] for k in compared})
    print(f"\nnot compared (live only): {', '.join(left_out)}")
    for row in comparisons:
        if not row.within:
            print(f"miss: {row.kpi} {row.scope}: live {row.measured}, truth {row.truth}")


def truth_values(
    lines: list[dict[str, Any]], registry: Registry, scenario: Scenario, day: date
) -> dict[scoring.Key, float]:
    """The day KPIs of the ground truth: the service centre's and rooms'
    (`tests.analytics.kpis.truth`), each sensor's hours above its limits, and each camera's
    mean fps (the scenario's, which every camera reports, streaming or not)."""
    begin, end = day_bounds(day, PROVINCE_TZ)
    values = {
        key: value
        for key, value in truth_kpis(lines, registry, day, kpi_settings(scenario)).items()
        if key[2] == "day"
    }
    for device in registry:
        thing = str(device.thing_id)
        if device.kind is DeviceKind.SENSOR:
            scope = f"sensor:{thing}"
            values[("sensor_hours_above_limit", scope, "day", begin)] = excursion_hours(
                lines, thing, begin, end
            )
        elif device.kind is DeviceKind.CAMERA:
            scope = f"camera:{thing}"
            values[("camera_mean_fps", scope, "day", begin)] = float(scenario.video.fps)
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    day = commands.add_parser("day", help="run the platform over a day, then score it")
    day.add_argument("--minutes", type=float, default=24.0, help="wall minutes (×60: 24 = a day)")
    day.add_argument("--out", type=Path, default=None, help="keep the run here")
    again = commands.add_parser("score", help="score a kept run again")
    again.add_argument("out", type=Path)
    args = parser.parse_args()
    if args.command == "day":
        out = args.out or Path(tempfile.mkdtemp(prefix="citytwin-truth-"))
        run_day(out, args.minutes)
        score(out)
    else:
        score(args.out)


if __name__ == "__main__":
    main()
