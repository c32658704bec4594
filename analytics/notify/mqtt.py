"""The alerts topic: each alert's current state, retained, on its own topic.

    citytwin/$platform/alerts/{site}/{alert_id}    (QoS 1, retained, MQTT 5)

A console or another system that subscribes to ``citytwin/$platform/alerts/#`` (or one
site's ``…/alerts/{site}/#``) gets at once the state of every alert still of interest,
then each change. Open and acknowledged alerts stay retained until they change. A resolved
alert's state is published with an MQTT 5 *message expiry interval* of
``resolved_retention_seconds``: late subscribers see it resolved for that long, then the
broker drops it by itself — across analytics restarts and without a timer here, since the
broker persists the expiry with the message. With a retention of 0 the resolved state is
sent once, not retained, and the retained message is cleared (an empty retained payload),
as `clear` does for an alert deleted from the store.

The broker may be away: states wait in a map keyed by topic, so only the newest state of
each alert is kept (bounded by ``queue_size`` alerts, the oldest dropped and said so), and
a task publishes them when connected, reconnecting with the shared backoff. A state leaves
the map only once the broker has acknowledged it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from analytics.alerts.model import AlertState
from analytics.notify.notice import AlertNotice
from analytics.notify.settings import AlertTopicSettings
from twins.backoff import Backoff
from twins.topics import alert_topic

logger = logging.getLogger(__name__)


@dataclass(slots=True, frozen=True)
class BrokerLogin:
    """Where and as whom analytics publishes (the ``citytwin-analytics`` account)."""

    host: str
    port: int
    username: str | None
    password: str | None


@dataclass(slots=True, frozen=True)
class _Pending:
    payload: bytes
    retain: bool
    expiry: int | None
    then_clear: bool = False


class AlertTopicPublisher:
    """Publishes the newest state of each alert while connected (run as one task)."""

    def __init__(self, login: BrokerLogin, settings: AlertTopicSettings) -> None:
        self._login = login
        self._settings = settings
        self._pending: OrderedDict[str, _Pending] = OrderedDict()
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.published = 0
        self.dropped = 0
        self.connected = False
        """A session with the broker is up."""

    def publish(self, notice: AlertNotice) -> None:
        """Queue ``notice`` as its alert's state (replacing one not yet sent); never waits."""
        payload = notice.model_dump_json().encode()
        if notice.state is not AlertState.RESOLVED:
            self._put(notice.site, notice.alert_id, _Pending(payload, retain=True, expiry=None))
        elif self._settings.resolved_retention_seconds:
            retention = self._settings.resolved_retention_seconds
            self._put(notice.site, notice.alert_id, _Pending(payload, True, retention))
        else:
            self._put(notice.site, notice.alert_id, _Pending(payload, False, None, True))

    def clear(self, site: str, alert_id: str) -> None:
        """Remove an alert's retained state (an alert deleted from the store)."""
        self._put(site, alert_id, _Pending(b"", retain=True, expiry=None))

    def _put(self, site: str, alert_id: str, pending: _Pending) -> None:
        topic = alert_topic(site, alert_id)
        self._pending.pop(topic, None)
        if len(self._pending) >= self._settings.queue_size:
            oldest, _ = self._pending.popitem(last=False)
            self.dropped += 1
            logger.warning(
                "alert state on %s dropped unsent: %d alerts wait for broker %s:%d",
                oldest, len(self._pending) + 1, self._login.host, self._login.port,
            )  # fmt: skip
        self._pending[topic] = pending
        self._idle.clear()
        self._ready.set()

    async def drain(self) -> None:
        """Until every queued state is acknowledged by the broker."""
        await self._idle.wait()

    async def run(self) -> None:
        """Connect, publish, reconnect with backoff; until cancelled."""
        backoff = Backoff(first=0.5, maximum=10.0, jitter=1.0)
        login = self._login
        while True:
            client = aiomqtt.Client(
                login.host, login.port, username=login.username, password=login.password,
                identifier=login.username, protocol=aiomqtt.ProtocolVersion.V5,
            )  # fmt: skip
            try:
                async with client:
                    self.connected = True
                    backoff.reset()
                    logger.info("alert states go to %s:%d", login.host, login.port)
                    await self._send(client)
            except aiomqtt.MqttError as exc:
                logger.warning(
                    "broker %s:%d: %s; %d alert states wait",
                    login.host, login.port, exc, len(self._pending),
                )  # fmt: skip
            finally:
                self.connected = False
                _lost(client)
            await asyncio.sleep(backoff.next_delay())

    async def _send(self, client: aiomqtt.Client) -> None:
        while True:
            while self._pending:
                topic, pending = next(iter(self._pending.items()))
                properties = None
                if pending.expiry is not None:
                    properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
                    properties.MessageExpiryInterval = pending.expiry
                await client.publish(
                    topic, pending.payload, qos=1, retain=pending.retain, properties=properties
                )
                if pending.then_clear:
                    await client.publish(topic, b"", qos=1, retain=True)
                if self._pending.get(topic) is pending:
                    del self._pending[topic]  # only once the broker has it
                self.published += 1
            self._ready.clear()
            self._idle.set()
            await self._wait_for_work(client)

    async def _wait_for_work(self, client: aiomqtt.Client) -> None:
        """Until a state is queued — or the session is lost, which raises at once rather
        than at the next publish, so that ``connected`` tells the truth."""
        ready: asyncio.Future[None] = asyncio.ensure_future(self._wait_ready())
        try:
            await asyncio.wait({ready, client._disconnected}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
        reason = _lost(client)
        if reason is not None:
            raise aiomqtt.MqttError(f"session lost: {reason}")

    async def _wait_ready(self) -> None:
        await self._ready.wait()


def _lost(client: aiomqtt.Client) -> BaseException | None:
    """Why aiomqtt's session ended, if it did (reading it marks aiomqtt's "unexpected
    disconnection" future as retrieved; aiomqtt offers no public way to learn of a lost
    session while nothing is being sent, so this reads its ``_disconnected``, as
    ``simulators/link.py`` does)."""
    disconnected = client._disconnected
    if not disconnected.done() or disconnected.cancelled():
        return None
    return disconnected.exception() or ConnectionError("disconnected")
