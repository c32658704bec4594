"""The live feed of alert changes: server-sent events from the alert store's history.

Another process (``citytwin analytics``) changes the alerts, so there is nothing in this
process to wait on: each open feed asks the store every ``api.live_poll_seconds`` for the
history entries after the last one it sent (``queries.changes_after``, one indexed range
read) and sends each changed alert as it is now:

    retry: 2000
    event: alert
    id: 1234                       the newest history id this event covers
    data: {…the alert…}

A browser's ``EventSource`` reconnects by itself and sends ``Last-Event-ID``, so a
dropped connection misses nothing; a new feed starts from the newest entry (the reader
has just loaded the list). Idle feeds send a comment every ``heartbeat_seconds`` so
proxies keep them open.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial

import orjson

from analytics.alerts.errors import AlertStoreError
from analytics.alerts.lifecycle import AlertLifecycle
from analytics.alerts.queries import changes_after, latest_change
from analytics.alerts.records import Alert
from citytwin.api.bodies import AlertBody

logger = logging.getLogger(__name__)

EVENT_STREAM = "text/event-stream"


@dataclass(slots=True, frozen=True)
class FeedTiming:
    poll_seconds: float
    heartbeat_seconds: float


def event_of(alert: Alert, history_id: int) -> bytes:
    data = AlertBody.of(alert).model_dump_json()
    return b"event: alert\nid: %d\ndata: %s\n\n" % (history_id, data.encode())


async def start_id(lifecycle: AlertLifecycle, last_event_id: str | None) -> int:
    """Where a feed starts: after the reader's last event, else after the newest entry."""
    if last_event_id is not None and last_event_id.strip().isdigit():
        return int(last_event_id)
    return await lifecycle.store.run(latest_change)


async def alert_events(
    lifecycle: AlertLifecycle, after: int, timing: FeedTiming, site: str | None = None
) -> AsyncIterator[bytes]:
    """The feed's bytes, from history id ``after`` on, until the reader goes away."""
    yield b"retry: 2000\n" + b": live from history id %d\n\n" % after
    idle_since = time.monotonic()
    while True:
        await asyncio.sleep(timing.poll_seconds)
        try:
            changes = await lifecycle.store.run(partial(changes_after, history_id=after))
        except AlertStoreError as exc:
            logger.warning("live alert feed: %s", exc)
            yield b"event: unavailable\ndata: %s\n\n" % orjson.dumps(str(exc))
            continue
        sent = False
        for alert in changes.alerts:
            if site is None or alert.site == site:
                yield event_of(alert, changes.last_id)
                sent = True
        after = changes.last_id
        if sent:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since >= timing.heartbeat_seconds:
            yield b":\n\n"
            idle_since = time.monotonic()
