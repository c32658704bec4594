"""The change stream: every committed change, fanned out to server-sent-event subscribers.

Each subscriber has a bounded queue of changes. A subscriber that falls behind by more
than its queue holds is not allowed to grow memory: its queue is emptied and its stream
closed (an SSE client reconnects and reads the current state). Filtering, policy pruning
and rendering happen in the subscriber's own stream task, so publishing stays cheap.

An event is rendered as Ditto does (`render_change`): the changed data the caller may
read (nothing at all when it may read none of it), with ``thingId``, ``_namespace``,
``_revision`` and ``_modified``; ``extraFields`` enrich it with unchanged parts of the
thing (as far as the caller may read them) *before* ``filter`` is tested, so
``filter=eq(attributes/site,"x")`` matches a feature change only with
``extraFields=attributes/site``; ``fields`` then select what is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

import orjson

from twins.pointer import Pointer
from twins.service.auth import Caller
from twins.service.fields import select_fields
from twins.service.policies import MISSING, Enforcer
from twins.service.rql import Node
from twins.service.rql_match import matches
from twins.service.views import META_FIELDS, readable_change, readable_thing

logger = logging.getLogger(__name__)


@dataclass(slots=True, frozen=True)
class Change:
    """One committed change of a thing.

    ``delta`` is the changed part in the thing's shape (``{"features": {"queue":
    {"properties": {"waiting": 6}}}}``; ``null`` marks what was deleted); ``thing`` is the
    whole thing after the change (before it, for a deletion), with its ``_`` fields.
    """

    thing_id: str
    policy_id: str
    revision: int
    modified: str
    delta: dict[str, Any]
    thing: dict[str, Any]
    deleted: bool = False


@dataclass(slots=True, frozen=True)
class Subscription:
    """What a subscriber asked for (``ids``, ``namespaces``, ``filter``, ``fields``,
    ``extraFields``)."""

    caller: Caller
    ids: frozenset[str] | None = None
    namespaces: frozenset[str] | None = None
    filter: Node | None = None
    fields: tuple[Pointer, ...] | None = None
    extra_fields: tuple[Pointer, ...] | None = None


@dataclass(slots=True, eq=False)
class Subscriber:
    """One open stream."""

    subscription: Subscription
    queue: asyncio.Queue[Change | None]
    dropped: bool = False
    name: str = field(default="")

    def wants(self, change: Change) -> bool:
        """Cheap id/namespace check before the change is queued."""
        wanted = self.subscription
        if wanted.ids is not None and change.thing_id not in wanted.ids:
            return False
        namespace = change.thing_id.partition(":")[0]
        return wanted.namespaces is None or namespace in wanted.namespaces


class ChangeHub:
    """Subscribers of the change stream; `publish` is called on the event loop."""

    def __init__(self, queue_size: int) -> None:
        self._queue_size = queue_size
        self._subscribers: set[Subscriber] = set()

    def __len__(self) -> int:
        return len(self._subscribers)

    def subscribe(self, subscription: Subscription, name: str) -> Subscriber:
        """Start delivering changes to a new subscriber."""
        subscriber = Subscriber(subscription, asyncio.Queue(maxsize=self._queue_size), name=name)
        self._subscribers.add(subscriber)
        logger.debug("change stream: %s subscribed (%d open)", name, len(self._subscribers))
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Stop delivering to ``subscriber``."""
        self._subscribers.discard(subscriber)

    def publish(self, change: Change) -> None:
        """Queue ``change`` for every interested subscriber; close the ones that lag."""
        for subscriber in list(self._subscribers):
            if subscriber.dropped or not subscriber.wants(change):
                continue
            try:
                subscriber.queue.put_nowait(change)
            except asyncio.QueueFull:
                logger.warning(
                    "change stream: %s fell %d changes behind at %s; closing its stream",
                    subscriber.name,
                    self._queue_size,
                    change.thing_id,
                )
                subscriber.dropped = True
                self._subscribers.discard(subscriber)
                while not subscriber.queue.empty():
                    subscriber.queue.get_nowait()
                with contextlib.suppress(asyncio.QueueFull):
                    subscriber.queue.put_nowait(None)

    def close(self) -> None:
        """End every stream (server shutdown)."""
        for subscriber in list(self._subscribers):
            subscriber.dropped = True
            while not subscriber.queue.empty():
                subscriber.queue.get_nowait()
            subscriber.queue.put_nowait(None)
        self._subscribers.clear()


def render_change(subscription: Subscription, change: Change, enforcer: Enforcer) -> bytes | None:
    """The event one subscriber receives, or None when it may not or need not see it."""
    thing = readable_thing(enforcer, change.thing)
    if thing is MISSING:
        return None
    namespace = change.thing_id.partition(":")[0]
    event: dict[str, Any] = {"thingId": change.thing_id}
    if not change.deleted:
        delta = readable_change(enforcer, change.delta)
        if delta is None:
            return None
        event.update(delta)
    event.update(
        {"_namespace": namespace, "_revision": change.revision, "_modified": change.modified}
    )
    if subscription.extra_fields is not None:
        extra = select_fields(thing, subscription.extra_fields)
        event = _enriched(extra, event)
    if subscription.filter is not None and not matches(subscription.filter, event):
        return None
    if change.deleted:
        return orjson.dumps(
            {"thingId": change.thing_id, "_revision": change.revision, "_deleted": True}
        )
    if subscription.fields is None:
        return orjson.dumps({key: value for key, value in event.items() if key not in META_FIELDS})
    selected = select_fields(event, subscription.fields)
    if not set(selected) - {"thingId", *META_FIELDS}:
        return None
    return orjson.dumps(selected)


def _enriched(extra: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """``event`` with ``extra`` filled in where the event says nothing (its ``null``s stay)."""
    result = dict(extra)
    for key, value in event.items():
        below = result.get(key)
        if isinstance(value, dict) and isinstance(below, dict):
            result[key] = _enriched(below, value)
        else:
            result[key] = value
    return result
