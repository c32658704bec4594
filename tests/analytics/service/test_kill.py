"""SIGKILL in the middle of a stream: after a restart every alert the ground truth names
exists exactly once — none lost while the process was dead, none doubled by the replay."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from analytics.alerts.model import AlertKey, AlertState
from tests.analytics.service.conftest import FLOOD_RULES
from tests.analytics.service.support import AnalyticsProcess, StoreReader
from tests.ingest.conftest import Site, TwinService
from tests.ingest.support import Device, IngestProcess, influx_rows, wait_until
from tests.services import Broker, Influx

pytestmark = pytest.mark.timeout(240)

EPISODES = 20
LEVELS = (50, 120, 125, 80)
"""One flood episode: it opens at the 120 cm sample and clears at the 80 cm one."""


def ms(at: datetime | None) -> int | None:
    return None if at is None else round(at.timestamp() * 1000)


def test_a_killed_process_restarts_with_every_alert_once(
    broker: Broker,
    influx: Influx,
    twin_service: TwinService,
    make_site: Callable[..., Site],
    make_ingest: Callable[..., IngestProcess],
    rules_dir: Path,
    tmp_path: Path,
    unique_name: str,
) -> None:
    site = make_site([("wl-01", "sensor")])
    thing = f"{site.namespace}:wl-01"
    key = AlertKey("flood", thing)
    make_ingest(site)
    process = AnalyticsProcess.configured(
        broker, influx, twin_service, site, tmp_path, rules_dir, unique_name,
        lookback_minutes=0.5,  # 30 samples: the replay starts inside the history
        start_lookback_hours=1, checkpoint_seconds=0.5,
        rules_poll_seconds=3600,  # rules reread on SIGHUP only
    )  # fmt: skip
    process.start()
    t0 = int(time.time() * 1000) - 600_000
    samples = [
        (t0 + (episode * len(LEVELS) + i) * 1000, level)
        for episode in range(EPISODES)
        for i, level in enumerate(LEVELS)
    ]
    truth = [
        (samples[e * len(LEVELS) + 1][0], samples[e * len(LEVELS) + 3][0]) for e in range(EPISODES)
    ]
    device = Device(broker, thing)
    reader = StoreReader(tmp_path / "var")

    def send() -> None:
        for ts, level in samples:
            device.send("telemetry", {"water_level_cm": level}, ts=ts).wait_for_publish(10)
            time.sleep(0.05)

    sender = threading.Thread(target=send, name="device")
    try:
        sender.start()
        wait_until(lambda: len(reader.alerts_of(key)) >= 8, "the first alerts")
        process.kill()
        at_kill = len(reader.alerts_of(key))
        sender.join(60)
        assert at_kill < EPISODES, "the stream ended before the kill; nothing was tested"

        process.start()
        wait_until(
            lambda: sum(a.state is AlertState.RESOLVED for a in reader.alerts_of(key)) >= EPISODES,
            f"{EPISODES} resolved alerts",
            timeout=60,
        )
        health = process.health()
        assert health is not None
        assert health["feed"]["replayed"] > 0  # the replay path ran
        pipeline = health["pipeline"]
        # the replay overlapped what the store held before the kill
        assert pipeline["before_checkpoint"] + pipeline["outcomes"].get("duplicate", 0) > 0

        alerts = reader.alerts_of(key)
        assert [(ms(a.opened_at), ms(a.resolved_at)) for a in alerts] == truth
        assert all(a.state is AlertState.RESOLVED for a in alerts)
        points = wait_until(
            lambda: (
                (
                    rows := influx_rows(
                        influx, site.database, f'SELECT * FROM "alert" WHERE "device" = \'{thing}\''
                    )
                )
                and len(rows) >= 2 * EPISODES
                and rows
            ),
            "every alert point",
        )
        assert sorted((p["alert_id"], p["state"]) for p in points) == sorted(
            (a.id, state) for a in alerts for state in ("open", "resolved")
        )

        # SIGHUP rereads the rules: a broken file is reported and the process goes on
        (rules_dir / "flood.yaml").write_text(FLOOD_RULES.replace("above: 100", "abve: 100"))
        process.hangup()
        errors = wait_until(
            lambda: (report := process.health()) is not None and report["rule_errors"],
            "the reload's errors",
        )
        assert errors[0].startswith(f"{rules_dir / 'flood.yaml'}:4: rules[0].abve: unknown field")
    finally:
        sender.join(60)
        process.stop()
        reader.close()
        device.close()
