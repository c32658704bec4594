"""Rules reread without a restart: a good file takes over at once, a broken one is named
by file and line and the rules in force stay."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from analytics.alerts.model import AlertKey
from tests.analytics.service.conftest import FLOOD_RULES
from tests.analytics.service.support import StoreReader, analytics_runtime, in_process
from tests.ingest.conftest import Site, TwinService
from tests.ingest.support import Device, IngestProcess, wait_until
from tests.services import Broker, Influx

pytestmark = pytest.mark.timeout(180)


def test_a_changed_rule_file_takes_over_and_a_broken_one_keeps_the_rules(
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
    key = AlertKey("flood", thing)
    make_ingest(site)
    state_dir = tmp_path / "var"
    runtime = analytics_runtime(
        broker, influx, twin_service, site, state_dir, rules_dir, rules_poll_seconds=3600
    )
    device = Device(broker, thing)
    t0 = int(time.time() * 1000) - 60_000
    ts = iter(range(t0, t0 + 100_000, 1000))
    with in_process(runtime) as running:
        service = running.service
        reader = StoreReader(state_dir)

        def reload() -> None:  # what SIGHUP does
            running.loop.call_soon_threadsafe(service.reload_requested.set)

        def send(level: float) -> int:
            at = next(ts)
            device.send("telemetry", {"water_level_cm": level}, ts=at)
            return at

        try:
            (rules_dir / "flood.yaml").write_text(
                FLOOD_RULES.replace("above: 100, clear_at: 90", "above: 200"), encoding="utf-8"
            )
            reload()
            wait_until(lambda: service.ruleset.current.version == 2, "the new rules")
            send(150)  # a flood under the old rules, not under the new
            onset = send(250)
            (alert,) = wait_until(lambda: reader.alerts_of(key), "the alert of the new rule")
            assert round(alert.opened_at.timestamp() * 1000) == onset

            (rules_dir / "flood.yaml").write_text(
                FLOOD_RULES.replace("above: 100", "abve: 50"), encoding="utf-8"
            )
            reload()
            errors = wait_until(lambda: service.ruleset.last_errors, "the broken file's errors")
            assert any(
                line.startswith(f"{rules_dir / 'flood.yaml'}:4: rules[0].abve: unknown field")
                for line in errors
            ), errors
            assert service.ruleset.current.version == 2  # the rules in force stay

            cleared = send(80)  # under 200's clear_at (190): resolves
            send(120)  # no flood under the rules in force
            second = send(210)
            alerts = wait_until(
                lambda: len(found := reader.alerts_of(key)) == 2 and found, "the second alert"
            )
            assert round(alerts[0].resolved_at.timestamp() * 1000) == cleared
            assert round(alerts[1].opened_at.timestamp() * 1000) == second
        finally:
            reader.close()
            device.close()
