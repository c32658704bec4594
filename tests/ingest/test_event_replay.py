"""What ingest stored reads back from InfluxDB as the events it published live."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from analytics.replay import EventReplay
from ingest.influx import InfluxV1Client
from tests.ingest.conftest import Site
from tests.ingest.support import Device, IngestProcess, Watcher, count_points, wait_until
from tests.services import Broker, Influx
from twins.events import EventBatch, EventChannel, NormalizedEvent

pytestmark = pytest.mark.timeout(120)


def _comparable(event: NormalizedEvent) -> dict[str, object]:
    return event.model_dump(exclude={"ts_source"})


async def _replayed(influx: Influx, database: str, since: int, until: int) -> list[NormalizedEvent]:
    async with InfluxV1Client(
        influx.url, database, username=influx.username, password=influx.password
    ) as client:
        replay = EventReplay(client, chunk_ms=700)
        return [event async for chunk in replay.chunks(since, until) for event in chunk]


def test_replay_gives_back_every_published_event_in_event_time_order(
    broker: Broker,
    influx: Influx,
    make_site: Callable[..., Site],
    make_ingest: Callable[..., IngestProcess],
) -> None:
    site = make_site([("counter-01", "counter"), ("water-01", "sensor")], twins=False)
    watcher = Watcher(broker, f"citytwin/$platform/events/+/{site.namespace}/#")
    make_ingest(site, twins=False)
    counter = Device(broker, f"{site.namespace}:counter-01")
    sensor = Device(broker, f"{site.namespace}:water-01")
    start = int(time.time() * 1000) - 10_000
    counter.publish("status", b'{"data": {"state": "online"}}', retain=True).wait_for_publish(10)
    counter.send("event", {"type": "officer_login", "officer": "Trần Thị Bình"}, ts=start + 100)
    for i in range(6):
        counter.send("telemetry", {"waiting": i, "officer_present": i % 2 == 0}, ts=start + i * 500)
        sensor.send(
            "telemetry", {"water_level_cm": 120.5 + i, "temperature_c": 27}, ts=start + i * 450
        )
    # a device's offline buffer flushed late: earlier than everything above
    sensor.send("telemetry", {"water_level_cm": 99.0}, ts=start - 2_000).wait_for_publish(10)

    def live() -> list[NormalizedEvent] | None:
        events = [
            event
            for _, raw in watcher.messages
            for event in EventBatch.model_validate_json(raw).events
            if event.channel is not EventChannel.QUALITY
        ]
        return events if len(events) >= 15 else None

    published = wait_until(live, "15 normalized events")
    wait_until(lambda: count_points(influx, site.database, "sensor_telemetry") >= 7, "7 points")
    since = min(e.ts for e in published) - 1
    until = max(e.ts for e in published)
    replayed = asyncio.run(_replayed(influx, site.database, since, until))

    ordered = sorted(published, key=lambda e: (e.ts, e.thing_id, e.seq or -1))
    assert [_comparable(e) for e in replayed] == [_comparable(e) for e in ordered]
    assert replayed[0].data == {"water_level_cm": 99.0}
    assert [e.ts for e in replayed] == sorted(e.ts for e in replayed)
    # the window is half-open: nothing at or before `since`, nothing after `until`
    assert asyncio.run(_replayed(influx, site.database, until, until + 60_000)) == []
    watcher.close()
    counter.close()
    sensor.close()


def test_a_bad_chunk_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="positive number of ms, not 0"):
        EventReplay(InfluxV1Client("http://127.0.0.1:1", "db"), chunk_ms=0)
