"""Analytics' event feed: every event once live, and after a restart what it missed."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from analytics.checkpoint import FileCheckpoint
from analytics.feed import EventFeed, FeedSettings
from citytwin.accounts import BrokerAccount, ServiceRole
from ingest.influx import InfluxV1Client
from tests.ingest.conftest import Site
from tests.ingest.support import WAIT, Device, IngestProcess, Watcher, count_points
from tests.services import Broker, Influx
from twins.events import NormalizedEvent

pytestmark = pytest.mark.timeout(180)


class Received:
    def __init__(self) -> None:
        self.events: list[NormalizedEvent] = []

    async def __call__(self, event: NormalizedEvent) -> None:
        self.events.append(event)

    def waiting(self) -> list[int | None]:
        return [e.data.get("waiting") for e in self.events]  # type: ignore[misc]


async def until(predicate: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def running(
    broker: Broker, influx: Influx, site: Site, checkpoint: Path, received: Received, **kw: object
) -> AsyncIterator[tuple[EventFeed, BrokerAccount]]:
    account = broker.account(ServiceRole.ANALYTICS)
    settings = FeedSettings(
        host=broker.host, port=broker.port, username=account.username,
        password=account.password, sites=[site.namespace], save_every_seconds=0,
        **kw,  # type: ignore[arg-type]
    )  # fmt: skip
    async with InfluxV1Client(
        influx.url, site.database, username=influx.username, password=influx.password
    ) as client:
        feed = EventFeed(settings, client, FileCheckpoint(checkpoint), received)
        task = asyncio.create_task(feed.run())
        try:
            await until(feed.caught_up.is_set, "the feed to catch up")
            yield feed, account
        finally:
            task.cancel()  # as abrupt as a kill: nothing is saved on the way out
            with contextlib.suppress(asyncio.CancelledError):
                await task


def send(device: Device, values: range, ts0: int) -> None:
    for i in values:
        device.send(
            "telemetry", {"waiting": i, "officer_present": True}, ts=ts0 + i
        ).wait_for_publish(10)


def test_a_restarted_feed_gets_what_it_missed_and_nothing_twice(
    broker: Broker,
    influx: Influx,
    make_site: Callable[..., Site],
    make_ingest: Callable[..., IngestProcess],
    tmp_path: Path,
) -> None:
    site = make_site([("counter-01", "counter")], twins=False)
    make_ingest(site, twins=False)
    device = Device(broker, f"{site.namespace}:counter-01")
    ts0 = int(time.time() * 1000) - 60_000
    checkpoint = tmp_path / "analytics" / "checkpoint.json"

    def stored(n: int) -> Callable[[], bool]:
        return lambda: count_points(influx, site.database, "counter_telemetry") >= n

    async def scenario() -> None:
        send(device, range(0, 5), ts0)  # before analytics ever ran: a late start
        await until(stored(5), "5 points")
        first = Received()
        async with running(
            broker, influx, site, checkpoint, first, lookback_ms=0, first_start_ms=ts0 - 1
        ) as (feed, _):
            assert first.waiting() == [0, 1, 2, 3, 4]
            assert feed.stats.replayed == 5
            send(device, range(5, 8), ts0)  # live
            await until(lambda: len(first.events) == 8, "3 live events")
            assert feed.stats.live == 3
        assert first.waiting() == list(range(8))

        send(device, range(8, 12), ts0)  # while analytics is down
        await until(stored(12), "12 points")
        second = Received()
        async with running(broker, influx, site, checkpoint, second, lookback_ms=0):
            await until(lambda: len(second.events) >= 4, "the 4 missed events")
            send(device, range(12, 14), ts0)
            await until(lambda: len(second.events) >= 6, "2 live events")
        assert second.waiting() == list(range(8, 14))  # nothing before the checkpoint again

        third = Received()  # a lookback replays the rules' window before the checkpoint
        async with running(broker, influx, site, checkpoint, third, lookback_ms=6) as (feed, _):
            assert third.waiting() == [8, 9, 10, 11, 12, 13]
            assert feed.stats.duplicates == 0

    asyncio.run(scenario())
    device.close()


def test_a_broken_checkpoint_is_refused_by_path(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match=f"checkpoint {path} is unreadable"):
        FileCheckpoint(path).load()
    path.write_text('{"event_ms": "yesterday"}')
    with pytest.raises(ValueError, match="is not ms"):
        FileCheckpoint(path).load()
    FileCheckpoint(path).save(1234)
    assert FileCheckpoint(path).load() == 1234


def test_a_dropped_connection_is_caught_up_and_garbage_is_skipped(
    broker: Broker,
    influx: Influx,
    make_site: Callable[..., Site],
    make_ingest: Callable[..., IngestProcess],
    tmp_path: Path,
) -> None:
    site = make_site([("counter-01", "counter")], twins=False)
    make_ingest(site, twins=False)
    device = Device(broker, f"{site.namespace}:counter-01")
    ts0 = int(time.time() * 1000) - 60_000
    received = Received()

    async def scenario() -> None:
        async with running(
            broker, influx, site, tmp_path / "cp.json", received, lookback_ms=0,
            first_start_ms=ts0,
        ) as (feed, account):  # fmt: skip
            send(device, range(1, 3), ts0)
            await until(lambda: len(received.events) == 2, "2 live events")
            tester = Watcher(broker, "unused/#")
            topic = f"citytwin/$platform/events/counter/{site.namespace}/counter-01"
            tester.client.publish(topic, b'{"events": [{"thing_id": 1}]}', qos=1).wait_for_publish()
            await until(lambda: feed.stats.invalid == 1, "the bad batch to be counted")
            # another client logging in as analytics takes its session over: the feed is
            # disconnected, events go on, and the feed must get them back from InfluxDB
            catch_ups = feed.stats.catch_ups
            thief = Watcher(broker, "unused/#", account=account)
            send(device, range(3, 6), ts0)
            thief.close()
            await until(lambda: feed.stats.catch_ups > catch_ups, "a second catch-up")
            await until(lambda: len(received.events) >= 5, "the events sent while away")
            send(device, range(6, 7), ts0)
            await until(lambda: len(received.events) >= 6, "a live event after")
            tester.close()
        assert received.waiting() == list(range(1, 7))

    asyncio.run(scenario())
    device.close()
