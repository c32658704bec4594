"""Two ``citytwin analytics --sites …`` processes side by side on one broker, InfluxDB, twin
service and alert store: each raises and tells only its own sites' alerts, and together
they raise every alert once — none doubled, none lost."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from analytics.alerts.model import AlertKey, AlertState
from analytics.alerts.records import Alert
from tests.analytics.service.support import AnalyticsProcess, StoreReader
from tests.ingest.conftest import Site, TwinService
from tests.ingest.support import Device, IngestProcess, Watcher, create_twins, wait_until
from tests.services import Broker, Influx
from twins.registry import Registry
from twins.topics import PLATFORM

pytestmark = pytest.mark.timeout(240)

EPISODES = {"north": 3, "south": 2}
"""Flood episodes per site; each opens at its 120 cm sample and clears at its 80 cm one."""
LEVELS = (50, 120, 80)


def two_sites(path: Path, unique_name: str) -> Registry:
    """A registry of two sites with a water-level sensor each."""
    spec = {
        "sites": [
            {
                "id": f"thaibinh.{unique_name}{part}",
                "name": f"Trạm {part}",
                "sector": "environment",
                "devices": [{"name": "wl-01", "kind": "sensor"}],
            }
            for part in EPISODES
        ]
    }
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return Registry.load(path)


def test_two_processes_split_by_site_raise_each_alert_once(
    broker: Broker,
    influx: Influx,
    twin_service: TwinService,
    database: str,
    make_ingest: Callable[..., IngestProcess],
    rules_dir: Path,
    tmp_path: Path,
    unique_name: str,
) -> None:
    registry = two_sites(tmp_path / "registry.yaml", unique_name)
    broker.provision(registry)
    with twin_service.client() as client:
        create_twins(client, registry)
    sites = {part: f"thaibinh.{unique_name}{part}" for part in EPISODES}
    site = Site(sites["north"], registry, tmp_path / "registry.yaml", database)
    make_ingest(site)
    state_dir = tmp_path / "var"  # one alert store for both, as on one machine
    processes = {
        part: AnalyticsProcess.configured(
            broker,
            influx,
            twin_service,
            site,
            tmp_path,
            rules_dir,
            unique_name,
            worker=worker,
            state_dir=state_dir,
            name=f"analytics-{part}",
            args=["--sites", sites[part], "--worker", str(worker)],
            compute_kpis=worker == 1,  # province KPIs in one process only
        )
        for worker, part in enumerate(EPISODES, start=1)
    }
    watcher = Watcher(broker, *(f"{PLATFORM}/alerts/{site}/#" for site in sites.values()))
    devices = {part: Device(broker, f"{sites[part]}:wl-01") for part in EPISODES}
    t0 = int(time.time() * 1000) - 600_000
    reader: StoreReader | None = None
    try:
        for process in processes.values():
            process.start()
        reader = StoreReader(state_dir)
        # the two sites' floods interleaved in time, as they come from the province
        for episode in range(max(EPISODES.values())):
            for i, level in enumerate(LEVELS):
                for part, count in EPISODES.items():
                    if episode < count:
                        ts = t0 + (episode * len(LEVELS) + i) * 1000
                        devices[part].send("telemetry", {"water_level_cm": level}, ts=ts)

        def resolved(part: str) -> list[Alert]:
            assert reader is not None
            alerts = reader.alerts_of(AlertKey("flood", f"{sites[part]}:wl-01"))
            done = [a for a in alerts if a.state is AlertState.RESOLVED]
            return alerts if len(done) >= EPISODES[part] else []

        found = {part: wait_until(lambda p=part: resolved(p), f"{part}'s alerts") for part in sites}
        for part, alerts in found.items():  # none lost, none doubled
            assert len(alerts) == EPISODES[part], part

        for part, process in processes.items():  # each judged its own site only
            health = wait_until(process.health, f"{part}'s health")
            assert health["sites"] == [sites[part]]
            assert health["pipeline"]["outcomes"]["opened"] == EPISODES[part], part
            assert health["pipeline"]["outcomes"]["resolved"] == EPISODES[part], part

        def told() -> Counter[tuple[str, str]]:
            return Counter(
                (payload["alert_id"], payload["transition"])
                for _topic, payload in watcher.json()
                if payload
            )

        every = {a.id for alerts in found.values() for a in alerts}
        notices = wait_until(
            lambda: (got := told()) and {alert_id for alert_id, _t in got} >= every and got,
            "a notice of every alert",
        )
        assert {alert_id for alert_id, _t in notices} == every
        assert max(notices.values()) == 1  # no transition told twice
        for part, process in processes.items():
            assert process.health() is not None
            assert (process.health() or {})["notices"] == 2 * EPISODES[part], part
    finally:
        for device in devices.values():
            device.close()
        watcher.close()
        for process in processes.values():
            process.stop()
        if reader is not None:
            reader.close()
