"""Device messages read back from InfluxDB as normalized events, in event-time order.

Ingest publishes normalized events on QoS 0 topics once their batch is durable in
InfluxDB: a consumer that was down, disconnected or started late has missed some. What it
missed is still in InfluxDB, one point per accepted message (``ingest.mapping``): this
module turns those points back into `NormalizedEvent` so analytics catches up from the
last event time it processed and then goes on live, without a second code path for the
rules.

What a point cannot give back: ``ts_source`` (a replayed event says ``device``), ingest's
``quality`` events, and ``stale`` availability points — those are ingest's wall-clock
view; analytics judges staleness by event time itself.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

from ingest.influx import InfluxV1Client
from twins.events import EventChannel, NormalizedEvent, TsSource
from twins.kinds import DeviceKind, Sector

AVAILABILITY = "device_availability"
_CHANNELS = {"telemetry": "telemetry", "event": "event", "state": "state", "cmd_ack": "cmd/ack"}
_KINDS = "|".join(kind.value for kind in DeviceKind)
MEASUREMENTS = re.compile(rf"^(?:{_KINDS})_(?:{'|'.join(_CHANNELS)})$|^{AVAILABILITY}$")
DEFAULT_CHUNK_MS = 15 * 60 * 1000


def _channel(measurement: str, kind: str) -> EventChannel:
    if measurement == AVAILABILITY:
        return EventChannel.STATUS
    return EventChannel(_CHANNELS[measurement[len(kind) + 1 :]])


def events_of(series: dict[str, Any]) -> list[NormalizedEvent]:
    """The events of one series of a ``SELECT * … GROUP BY *`` answer (``epoch=ms``)."""
    tags: dict[str, str] = series.get("tags", {})
    measurement: str = series["name"]
    kind = tags["kind"]
    channel = _channel(measurement, kind)
    columns: list[str] = series["columns"]
    events = []
    for row in series.get("values", []):
        values = {
            column: value
            for column, value in zip(columns, row, strict=True)
            if value is not None and column != "time"
        }
        if channel is EventChannel.STATUS:
            if values.get("state") == "stale":
                continue
            values.pop("online", None)
        seq = values.pop("seq", None)
        if channel is EventChannel.EVENT and tags.get("type"):
            values["type"] = tags["type"]
        events.append(
            NormalizedEvent(
                thing_id=f"{tags['namespace']}:{tags['device']}",
                kind=DeviceKind(kind),
                site=tags["site"],
                sector=Sector(tags["sector"]),
                channel=channel,
                ts=int(row[0]),
                ts_source=TsSource.DEVICE,
                seq=int(seq) if seq is not None else None,
                data=values,
            )
        )
    return events


class EventReplay:
    """Reads what ingest stored between two event times back as normalized events (of
    ``sites`` only, when given: an engine split by site replays its own).

    ``chunk_ms`` bounds one query (and the memory it takes): a day of a province is read
    as 96 queries of 15 minutes, each answered sorted by event time, then by device and
    sequence, the order a live consumer would have seen a device's messages in.
    """

    def __init__(
        self,
        client: InfluxV1Client,
        *,
        sites: Sequence[str] = (),
        chunk_ms: int = DEFAULT_CHUNK_MS,
    ) -> None:
        if chunk_ms <= 0:
            raise ValueError(f"replay chunk must be a positive number of ms, not {chunk_ms}")
        for site in sites:
            if not re.fullmatch(r"[A-Za-z0-9._-]+", site):
                raise ValueError(f"replay site {site!r} is not a site id")
        self._client = client
        self._chunk_ms = chunk_ms
        self._where_site = (
            f' AND "site" =~ /^(?:{"|".join(re.escape(s) for s in sites)})$/' if sites else ""
        )

    async def chunks(self, since_ms: int, until_ms: int) -> AsyncIterator[list[NormalizedEvent]]:
        """Events with ``since_ms < ts ≤ until_ms``, one sorted list per chunk of time.

        Bounds are whole ms: a point's time carries the device's ``seq`` in its nanoseconds
        (``ingest.mapping.point_time_ns``), which belongs to the ms of its ``ts``.
        """
        start = since_ms
        while start < until_ms:
            end = min(start + self._chunk_ms, until_ms)
            body = await self._client.query(
                f"SELECT * FROM /{MEASUREMENTS.pattern}/"
                f" WHERE time >= {start + 1}ms AND time < {end + 1}ms{self._where_site}"
                " GROUP BY *"
            )
            events = [
                event
                for result in body.get("results", [])
                for series in result.get("series", [])
                for event in events_of(series)
            ]
            events.sort(key=lambda e: (e.ts, e.thing_id, e.seq if e.seq is not None else -1))
            if events:
                yield events
            start = end
