"""What the alert inbox costs the alert store: the queries of ``/api/alerts`` and of a
live feed's poll, on a store holding a busy month.

    .venv/bin/python benchmarks/alert_api_bench.py [--alerts 3000] [--runs 200]

1. Opens ``--alerts`` alerts on a SQLite store through ``AlertLifecycle.apply`` (40
   sites, four rule types, the four severities), acknowledges two in three and resolves
   half of them: about 2.2 history entries per alert.
2. Times, ``--runs`` times each (median and 95th percentile): what a live feed asks every
   ``api.live_poll_seconds`` when nothing changed (``changes_after`` the newest id) and
   after ten changes; the inbox's first page (50, most urgent first, with the total); one
   site's open alerts; a page deep in the list (offset 2,000).
3. Times ``GET /api/alerts?limit=50`` over HTTP on the real app (uvicorn in a thread,
   HTTP basic), end to end.

Prints its figures. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.alerts.lifecycle import AlertLifecycle
from analytics.alerts.model import AlertKey, AlertSignal, AlertState, RuleType, Severity
from analytics.alerts.queries import AlertFilter, changes_after, find_alerts, latest_change
from analytics.alerts.store import AlertStore
from citytwin.app import create_app
from citytwin.paths import StatePaths
from citytwin.settings import CitytwinSettings
from citytwin.stack import load_secrets
from tests.services import free_port, serve_in_thread

RULES = (RuleType.OFFICER_ABSENCE, RuleType.INTRUSION, RuleType.THRESHOLD, RuleType.OFFLINE)
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def signal(n: int) -> AlertSignal:
    site = f"bench.site{n % 40:02d}"
    return AlertSignal(
        key=AlertKey(rule=f"rule-{n % 4}", device=f"{site}:dev-{n:05d}"),
        rule_type=RULES[n % 4],
        active=True,
        at=T0 + timedelta(minutes=15 * n),
        severity=Severity(1 + n % 4),
        site=site,
        sector="public_administration",
        message_vi="Cảnh báo thử",
        message_en="Benchmark alert",
    )


async def fill(lifecycle: AlertLifecycle, count: int) -> float:
    started = time.perf_counter()
    for n in range(count):
        applied = await lifecycle.apply(signal(n))
        assert applied.alert is not None
        if n % 3:
            await lifecycle.acknowledge(applied.alert.id, actor="truc-ban")
        if n % 2:
            await lifecycle.resolve(applied.alert.id, actor="truc-ban")
    return time.perf_counter() - started


async def timed(name: str, runs: int, call: Callable[[], Awaitable[object]]) -> None:
    spent = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        spent.append((time.perf_counter() - started) * 1000)
    spent.sort()
    p95 = spent[int(0.95 * (len(spent) - 1))]
    print(f"  {name:<44} median {statistics.median(spent):7.2f} ms   p95 {p95:7.2f} ms")


async def main(alerts: int, runs: int) -> None:
    state = Path(tempfile.mkdtemp(prefix="alert-api-bench-"))
    url = f"sqlite:///{state / 'alerts' / 'alerts.db'}"
    async with await AlertStore.connect(url) as store:
        lifecycle = AlertLifecycle(store)
        seconds = await fill(lifecycle, alerts)
        newest = await store.run(latest_change)
        print(f"{alerts} alerts, {newest} history entries on SQLite, filled in {seconds:.1f} s")
        print(f"store queries, {runs} runs each:")
        await timed("live poll, nothing new", runs, lambda: store.run(
            lambda s: changes_after(s, newest)))  # fmt: skip
        await timed("live poll, 10 changes", runs, lambda: store.run(
            lambda s: changes_after(s, newest - 10)))  # fmt: skip
        await timed("inbox first page (50, with total)", runs, lambda: store.run(
            lambda s: find_alerts(s, AlertFilter())))  # fmt: skip
        one_site = AlertFilter(site="bench.site07", states=frozenset({AlertState.OPEN}))
        await timed("one site's open alerts", runs, lambda: store.run(
            lambda s: find_alerts(s, one_site)))  # fmt: skip
        await timed("page at offset 2000", runs, lambda: store.run(
            lambda s: find_alerts(s, AlertFilter(), offset=min(2000, alerts - 50))))  # fmt: skip

    port = free_port()
    login = ("truc-ban", "bench-password-2026")
    settings = CitytwinSettings.model_validate(
        {
            "state_dir": str(state),
            "http": {"port": port},
            "mqtt": {"port": free_port()},
            "twins": {"users": {login[0]: {"password": login[1], "role": "operator"}}},
        }
    )
    secrets = load_secrets(settings, StatePaths(state))
    with serve_in_thread(create_app(settings, secrets), port) as base:
        async with httpx.AsyncClient(base_url=base, auth=login) as http:
            await http.get("/api/alerts")  # opens the store
            print(f"HTTP, {runs} runs:")
            await timed("GET /api/alerts?limit=50", runs, lambda: http.get(
                "/api/alerts", params={"limit": 50}))  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=200)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.alerts, arguments.runs))
