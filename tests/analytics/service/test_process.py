"""The analytics process end to end: device messages through the real broker, ingest and
InfluxDB become an alert in the store, its notice on the retained alerts topic, the
device twin's ``alerts`` summary and the ``alert`` points — opened, then resolved."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from analytics.alerts.model import AlertKey, AlertState
from tests.analytics.service.support import StoreReader, analytics_runtime, in_process
from tests.ingest.conftest import Site, TwinService
from tests.ingest.support import Device, IngestProcess, Watcher, influx_rows, wait_until
from tests.services import Broker, Influx
from twins.topics import PLATFORM

pytestmark = pytest.mark.timeout(180)


def twin_alerts(twins: TwinService, thing: str) -> dict[str, Any]:
    with twins.client() as client:
        found: dict[str, Any] = client.get(thing, "features/alerts/properties")
    return found


def day_kpi(influx: Influx, site: Site, kpi: str) -> list[float]:
    """The values of a KPI's day windows for the whole site (no breakdown)."""
    rows = influx_rows(
        influx,
        site.database,
        f"SELECT value FROM kpi WHERE kpi = '{kpi}' AND window = 'day'"
        f" AND scope = 'site:{site.namespace}' AND part = ''",
    )
    return [float(row["value"]) for row in rows]


def notices(watcher: Watcher, alert_id: str) -> list[dict[str, Any]]:
    return [payload for topic, payload in watcher.json() if topic.endswith(f"/{alert_id}")]


def test_a_flood_opens_an_alert_everywhere_and_its_end_resolves_it(
    broker: Broker,
    influx: Influx,
    twin_service: TwinService,
    make_site: Callable[..., Site],
    make_ingest: Callable[..., IngestProcess],
    rules_dir: Path,
    tmp_path: Path,
) -> None:
    site = make_site([("wl-01", "sensor")])
    thing = f"{site.namespace}:wl-01"
    make_ingest(site)
    key = AlertKey("flood", thing)
    state_dir = tmp_path / "var"
    runtime = analytics_runtime(broker, influx, twin_service, site, state_dir, rules_dir)
    watcher = Watcher(broker, f"{PLATFORM}/alerts/{site.namespace}/#")
    device = Device(broker, thing)
    t0 = int(time.time() * 1000) - 60_000
    with in_process(runtime):
        reader = StoreReader(state_dir)
        try:
            for i, level in enumerate([40, 60, 120, 135]):
                device.send("telemetry", {"water_level_cm": level}, ts=t0 + i * 1000)
            alerts = wait_until(lambda: reader.alerts_of(key), "the flood alert")
            (alert,) = alerts
            assert alert.state is AlertState.OPEN
            assert round(alert.opened_at.timestamp() * 1000) == t0 + 2000  # the 120 cm sample
            assert alert.severity.label == "major"

            opened = wait_until(lambda: notices(watcher, alert.id), "the opened notice")
            assert opened[0]["transition"] == "opened"
            assert opened[0]["state"] == "open"
            assert opened[0]["device"] == thing
            summary = wait_until(
                lambda: (s := twin_alerts(twin_service, thing))["open"] == 1 and s, "twin summary"
            )
            assert summary["worstSeverity"] == "major"
            assert summary["newestAlertId"] == alert.id
            points = wait_until(
                lambda: influx_rows(influx, site.database, 'SELECT * FROM "alert"'),
                "the alert point",
            )
            assert [(p["state"], p["alert_id"], p["device"]) for p in points] == [
                ("open", alert.id, thing)
            ]
            opened_kpi = wait_until(
                lambda: [v for v in day_kpi(influx, site, "alerts_opened") if v >= 1],
                "the alerts_opened KPI of the site",
            )
            assert opened_kpi == [1.0]

            # an operator acknowledges it through another process (the HTTP API's way)
            reader.acknowledge(alert.id, "operator-minh")
            assert wait_until(
                lambda: (
                    [n["transition"] for n in notices(watcher, alert.id)][-1:] == ["acknowledged"]
                ),
                "the acknowledged notice",
            )
            assert notices(watcher, alert.id)[-1]["actor"] == "operator-minh"
            assert wait_until(
                lambda: twin_alerts(twin_service, thing)["acknowledged"] == 1, "twin acknowledged"
            )

            for i, level in enumerate([95, 80], start=4):  # 95 is above clear_at 90: still on
                device.send("telemetry", {"water_level_cm": level}, ts=t0 + i * 1000)
            resolved = wait_until(
                lambda: [a for a in reader.alerts_of(key) if a.state is AlertState.RESOLVED],
                "the alert to resolve",
            )
            assert [a.id for a in resolved] == [alert.id]
            assert resolved[0].resolved_at is not None
            assert round(resolved[0].resolved_at.timestamp() * 1000) == t0 + 5000
            assert wait_until(
                lambda: (
                    [n["transition"] for n in notices(watcher, alert.id)]
                    == ["opened", "acknowledged", "resolved"]
                ),
                "the resolved notice",
            )
            assert wait_until(
                lambda: twin_alerts(twin_service, thing)["open"] == 0, "the summary to clear"
            )
            assert twin_alerts(twin_service, thing)["worstSeverity"] is None
            states = wait_until(
                lambda: (
                    sorted(
                        p["state"]
                        for p in influx_rows(influx, site.database, 'SELECT * FROM "alert"')
                    )
                    == ["acknowledged", "open", "resolved"]
                ),
                "the resolved point",
            )
            assert states
        finally:
            reader.close()
            device.close()
            watcher.close()


def test_a_camera_stream_the_hub_reports_down_is_an_alert_until_it_is_up(
    broker: Broker,
    influx: Influx,
    twin_service: TwinService,
    make_site: Callable[..., Site],
    rules_dir: Path,
    tmp_path: Path,
) -> None:
    """Stream health comes from the camera twin's ``stream`` feature, as the hub writes it."""
    (rules_dir / "cameras.yaml").write_text(
        'site: "thaibinh.*"\nkind: camera\nrules:\n'
        "  - {id: stream-down, type: stream_down, min_down_s: 0, severity: major}\n",
        encoding="utf-8",
    )
    site = make_site([("cam-01", "camera")])
    thing = f"{site.namespace}:cam-01"
    key = AlertKey("stream-down", thing)
    state_dir = tmp_path / "var"
    runtime = analytics_runtime(broker, influx, twin_service, site, state_dir, rules_dir)
    down_at = "2026-12-04T01:00:00.000Z"
    up_at = "2026-12-04T01:05:00.000Z"

    def hub_reports(health: str, since: str) -> None:
        with twin_service.client() as client:
            client.patch(
                thing,
                "features/stream/properties",
                {"health": health, "healthSince": since, "receivedFps": 0.0, "lastError": "EOF"},
            )

    with in_process(runtime):
        reader = StoreReader(state_dir)
        try:
            hub_reports("down", down_at)
            (alert,) = wait_until(lambda: reader.alerts_of(key), "the stream-down alert")
            assert alert.opened_at.isoformat() == "2026-12-04T01:00:00+00:00"
            hub_reports("down", down_at)  # the hub's periodic refresh: nothing new
            hub_reports("up", up_at)
            (resolved,) = wait_until(
                lambda: [a for a in reader.alerts_of(key) if a.state is AlertState.RESOLVED],
                "the alert to resolve",
            )
            assert resolved.id == alert.id
            assert resolved.resolved_at is not None
            assert resolved.resolved_at.isoformat() == "2026-12-04T01:05:00+00:00"
            assert wait_until(
                lambda: twin_alerts(twin_service, thing)["changedAt"] == up_at, "camera summary"
            )
        finally:
            reader.close()
