"""HTTP ingest for other systems: ``POST /ingest/{namespace}/{name}/{channel}``.

The queue system, the e-office calendar and the citizen-report app post the same envelope
a device sends over MQTT. The route authenticates the system (HTTP basic with its key and
password, or ``Authorization: Bearer <api_key>``), checks that it may write for the
namespace, validates the envelope against the device's kind, and publishes it with QoS 1
on the device's topic through the HTTP app's own broker account (which may publish only
these three channels) — so it takes the same pipeline as a device message. It answers 202
once the broker has the message (PUBACK).

Errors are JSON ``{"error": code, "message": text, "where": location}``: 401 unknown or
missing credentials, 403 namespace not allowed, 404 unknown device or channel, 413 body
too large, 422 the envelope breaks the contract, 503 the broker cannot be reached. A
refused envelope's ``error`` is the reason code its dead letter would have over MQTT
(`twins.errors.ContractReason`: ``schema``, ``not_finite``, ``not_json``, ``ts_past``, …).

The body is read with a cap (``http_max_body_bytes``): a larger ``Content-Length`` is
refused before reading, and a streamed body as soon as it passes the cap. Messages go out
through one long-lived MQTT connection (`IngestPublisher`), opened at the first request,
reopened after a failure and closed with the app (the router's lifespan closes the one it
made; a publisher passed in belongs to the caller). A registry file that becomes invalid or
disappears is logged and the last good registry stays in use.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType
from typing import Any

import aiomqtt
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from ingest.pipeline import check_ts_window
from ingest.registry_file import RegistryFile
from ingest.settings import HttpIngestSystem, IngestSettings
from twins.errors import ContractError, ContractReason, InvalidThingIdError
from twins.http_body import BodyTooLargeError, read_body
from twins.payloads import parse_payload
from twins.thing_id import ThingId
from twins.topics import Channel, device_topic

logger = logging.getLogger(__name__)

FAIL_FAST_SECONDS = 2.0
"""After a failed connect, how long publishes fail at once instead of connecting again."""
HTTP_CHANNELS = {"telemetry": Channel.TELEMETRY, "event": Channel.EVENT, "state": Channel.STATE}


class IngestPublisher(contextlib.AbstractAsyncContextManager["IngestPublisher"]):
    """One MQTT connection of the HTTP app's broker account for HTTP ingest (one account is
    one connection: the broker makes the client id the user name).

    Opened at the first ``publish``, reopened when a publish fails (that publish is tried
    once more on the new connection), closed by ``close`` (or leaving ``async with``).
    ``connections`` counts the connections opened.
    """

    def __init__(
        self, *, host: str, port: int, username: str, password: str, timeout: float = 10.0
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._username = username
        self._password = password
        self._client: aiomqtt.Client | None = None
        self._stack = contextlib.AsyncExitStack()
        self._lock = asyncio.Lock()
        self._failed: tuple[float, str] | None = None
        self.connections = 0

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def publish(self, topic: str, payload: bytes) -> None:
        """Publish with QoS 1 and return once the broker has it (``aiomqtt.MqttError``
        when it cannot be reached even on a new connection)."""
        client = await self._connected()
        try:
            await client.publish(topic, payload, qos=1, timeout=self.timeout)
            return
        except aiomqtt.MqttError as exc:
            logger.warning(
                "HTTP ingest lost MQTT %s:%d (%s); reconnecting", self.host, self.port, exc
            )
            await self._drop(client)
        client = await self._connected()
        try:
            await client.publish(topic, payload, qos=1, timeout=self.timeout)
        except aiomqtt.MqttError:
            await self._drop(client)
            raise

    async def close(self) -> None:
        """Disconnect (a later ``publish`` connects again)."""
        async with self._lock:
            await self._close_client()

    async def _connected(self) -> aiomqtt.Client:
        async with self._lock:
            if self._client is not None:
                return self._client
            if self._failed is not None:
                # requests waiting behind a failed connect fail at once, not one by one
                # after a connect timeout each
                failed_at, reason = self._failed
                if time.monotonic() - failed_at < FAIL_FAST_SECONDS:
                    raise aiomqtt.MqttError(f"{reason} (less than {FAIL_FAST_SECONDS:g} s ago)")
            client = aiomqtt.Client(
                self.host,
                self.port,
                username=self._username,
                password=self._password,
                identifier=f"citytwin-http-{uuid.uuid4().hex[:12]}",
                protocol=aiomqtt.ProtocolVersion.V5,
                timeout=self.timeout,
            )
            try:
                await self._stack.enter_async_context(client)
            except aiomqtt.MqttError as exc:
                self._stack = contextlib.AsyncExitStack()
                self._failed = (time.monotonic(), str(exc))
                raise
            self._failed = None
            self.connections += 1
            logger.info("HTTP ingest connected to MQTT %s:%d", self.host, self.port)
            self._client = client
            return client

    async def _drop(self, client: aiomqtt.Client) -> None:
        async with self._lock:
            if self._client is client:
                await self._close_client()

    async def _close_client(self) -> None:
        stack, self._stack = self._stack, contextlib.AsyncExitStack()
        self._client = None
        with contextlib.suppress(aiomqtt.MqttError, OSError):
            await stack.aclose()


def _error(status: int, error: str, message: str, where: str, **headers: str) -> JSONResponse:
    return JSONResponse(
        {"error": error, "message": message, "where": where}, status_code=status, headers=headers
    )


def _authenticate(
    header: str | None, systems: dict[str, HttpIngestSystem]
) -> tuple[str, HttpIngestSystem] | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        for key, system in systems.items():
            if system.api_key and secrets.compare_digest(
                system.api_key.get_secret_value().encode(), value.strip().encode()
            ):
                return key, system
        return None
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        found = systems.get(user)
        if (
            found is not None
            and found.password
            and secrets.compare_digest(
                found.password.get_secret_value().encode(), password.encode()
            )
        ):
            return user, found
    return None


def create_ingest_router(
    *,
    settings: IngestSettings,
    registry_path: Path,
    mqtt_host: str,
    mqtt_port: int,
    mqtt_username: str,
    mqtt_password: str,
    publish_timeout: float = 10.0,
    publisher: IngestPublisher | None = None,
) -> APIRouter:
    """The router to mount in the citytwin HTTP app (no prefix needed: paths are absolute).

    Without ``publisher`` the router makes one from the ``mqtt_*`` arguments and closes it
    in its lifespan (FastAPI runs an included router's lifespan within the app's); with
    one, its owner closes it.
    """
    registry = RegistryFile(registry_path)
    systems = settings.http_systems
    owned = publisher is None
    mqtt = publisher or IngestPublisher(
        host=mqtt_host,
        port=mqtt_port,
        username=mqtt_username,
        password=mqtt_password,
        timeout=publish_timeout,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if owned:
                await mqtt.close()

    router = APIRouter(tags=["ingest"], lifespan=lifespan)

    @router.post("/ingest/{namespace}/{name}/{channel}", status_code=202)
    async def ingest_message(
        namespace: str, name: str, channel: str, request: Request
    ) -> JSONResponse:
        where = f"/ingest/{namespace}/{name}/{channel}"
        caller = _authenticate(request.headers.get("authorization"), systems)
        if caller is None:
            return _error(
                401,
                "unauthorized",
                "unknown or missing credentials: use HTTP basic (system key and password) or"
                " 'Authorization: Bearer <api key>'",
                where,
                **{"WWW-Authenticate": 'Basic realm="citytwin ingest"'},
            )
        key, system = caller
        if "*" not in system.namespaces and namespace not in system.namespaces:
            return _error(
                403,
                ContractReason.FORBIDDEN,
                f"system {key!r} may write for {system.namespaces}, not {namespace!r}",
                where,
            )
        kind_channel = HTTP_CHANNELS.get(channel)
        if kind_channel is None:
            return _error(
                404,
                "unknown_channel",
                f"channel {channel!r} is not one of {sorted(HTTP_CHANNELS)}",
                where,
            )
        try:
            thing_id = ThingId.parse(f"{namespace}:{name}")
        except InvalidThingIdError as exc:
            return _error(404, ContractReason.UNKNOWN_DEVICE, str(exc), where)
        registry.refresh()
        device = registry.registry.get(thing_id)
        if device is None:
            return _error(
                404, ContractReason.UNKNOWN_DEVICE, f"device {thing_id} is not registered", where
            )
        limit = settings.http_max_body_bytes
        try:
            body = await read_body(request, limit)
        except BodyTooLargeError as exc:
            return _error(
                413,
                ContractReason.TOO_LARGE,
                f"body is {exc.size} bytes or more; at most {limit} bytes allowed",
                where,
            )
        try:
            message = parse_payload(thing_id, device.kind, kind_channel, body)
        except ContractError as exc:
            status = 413 if exc.reason is ContractReason.TOO_LARGE else 422
            return _error(status, exc.reason, str(exc), where)
        if message.ts_ms is not None:
            refused = check_ts_window(
                message.ts_ms,
                int(time.time() * 1000),
                settings.max_future_seconds,
                settings.max_past_seconds,
            )
            if refused is not None:
                return _error(422, refused[0], refused[1], where)
        topic = device_topic(thing_id, kind_channel)
        try:
            await mqtt.publish(topic, body)
        except aiomqtt.MqttError as exc:
            logger.error("HTTP ingest from %s for %s not published: %s", key, thing_id, exc)
            return _error(
                503,
                "broker_unavailable",
                f"the MQTT broker is unreachable: {exc}",
                where,
                **{"Retry-After": str(int(FAIL_FAST_SECONDS))},
            )
        logger.debug("HTTP ingest from %s published on %s", key, topic)
        accepted: dict[str, Any] = {"accepted": True, "thing_id": str(thing_id), "topic": topic}
        return JSONResponse(accepted, status_code=202)

    return router
