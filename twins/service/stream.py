"""The change stream endpoint: ``GET /api/2/things`` with ``Accept: text/event-stream``.

Parses the subscription (``ids``, ``namespaces``, ``filter``, ``fields``,
``extraFields``), registers it with the `ChangeHub` and streams server-sent events:
``data:{…}`` per change (`render_change`), a comment when idle, and a closing comment
when the subscriber fell behind or the service stops.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from twins.service.auth import Caller
from twins.service.options import parse_field_param, parse_namespaces
from twins.service.resources import check_thing_id
from twins.service.rql import parse_rql
from twins.service.sse import Change, Subscriber, Subscription, render_change
from twins.service.things import TwinService

EVENT_STREAM = "text/event-stream"


class ChangeStreamEndpoint:
    """Opens change streams over one `TwinService`'s hub."""

    def __init__(self, service: TwinService, heartbeat_seconds: float) -> None:
        self.service = service
        self.heartbeat_seconds = heartbeat_seconds

    def open(self, request: Request, caller: Caller) -> Response:
        """Server-sent events: the changed part of each thing, as it commits."""
        params = request.query_params
        raw_ids = params.get("ids")
        ids = None
        if raw_ids:
            ids = frozenset(check_thing_id(part.strip()) for part in raw_ids.split(","))
        namespaces = parse_namespaces(params.get("namespaces"))
        filter_text = params.get("filter")
        subscription = Subscription(
            caller=caller,
            ids=ids,
            namespaces=frozenset(namespaces) if namespaces else None,
            filter=parse_rql(filter_text) if filter_text else None,
            fields=parse_field_param(params),
            extra_fields=parse_field_param(params, "extraFields"),
        )
        client = request.client
        name = f"{caller.subject}@{client.host}:{client.port}" if client else caller.subject
        subscriber = self.service.hub.subscribe(subscription, name)
        return StreamingResponse(
            self._events(subscriber),
            media_type=EVENT_STREAM,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def _events(self, subscriber: Subscriber) -> AsyncIterator[bytes]:
        heartbeat = self.heartbeat_seconds
        try:
            yield b":subscribed\n\n"  # sends the headers: the subscription is live
            while True:
                try:
                    change = await asyncio.wait_for(subscriber.queue.get(), heartbeat)
                except TimeoutError:
                    yield b":\n\n"
                    continue
                if change is None:
                    yield b":closed (the stream fell behind or the service stops)\n\n"
                    return
                data = self.render_event(subscriber.subscription, change)
                if data is not None:
                    yield b"data:" + data + b"\n\n"
        finally:
            self.service.hub.unsubscribe(subscriber)

    def render_event(self, subscription: Subscription, change: Change) -> bytes | None:
        """The event for one subscriber, or None when it may not or need not see it."""
        policy = self.service.store.get_policy(change.policy_id)
        enforcer = self.service.access.enforcer(subscription.caller, policy)
        return render_change(subscription, change, enforcer)
