"""HTTP ingest for other systems: ``POST /ingest/{namespace}/{name}/{channel}``.

The queue system, the e-office calendar and the citizen-report app post the same envelope
a device sends over MQTT. The route authenticates the system (HTTP basic with its key and
password, or ``Authorization: Bearer <api_key>``), checks that it may write for the
namespace, validates the envelope against the device's kind, and publishes it with QoS 1
on the device's topic through the service account — so it takes the same pipeline as a
device message. It answers 202 once the broker has the message (PUBACK).

Errors are JSON ``{"error": code, "message": text, "where": location}``: 401 unknown or
missing credentials, 403 namespace not allowed, 404 unknown device or channel, 413 body
too large, 422 the envelope breaks the contract, 503 the broker cannot be reached.
"""

from __future__ import annotations

import base64
import binascii
import logging
import secrets
import time
import uuid
from pathlib import Path
from typing import Any

import aiomqtt
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ingest.settings import HttpIngestSystem, IngestSettings
from twins.errors import ContractError, InvalidThingIdError
from twins.payloads import parse_payload
from twins.registry import Registry
from twins.thing_id import ThingId
from twins.topics import Channel, device_topic

logger = logging.getLogger(__name__)

HTTP_CHANNELS = {"telemetry": Channel.TELEMETRY, "event": Channel.EVENT, "state": Channel.STATE}


class _RegistryFile:
    """The registry, reread when its file changes (provisioning adds devices)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mtime = path.stat().st_mtime
        self._registry = Registry.load(path)

    def get(self) -> Registry:
        mtime = self.path.stat().st_mtime
        if mtime != self._mtime:
            self._registry = Registry.load(self.path)
            self._mtime = mtime
        return self._registry


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
) -> APIRouter:
    """The router to mount in the citytwin HTTP app (no prefix needed: paths are absolute)."""
    registry = _RegistryFile(registry_path)
    systems = settings.http_systems
    router = APIRouter(tags=["ingest"])

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
                "forbidden",
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
            return _error(404, "unknown_device", str(exc), where)
        device = registry.get().get(thing_id)
        if device is None:
            return _error(404, "unknown_device", f"device {thing_id} is not registered", where)
        body = await request.body()
        limit = settings.http_max_body_bytes
        if len(body) > limit:
            return _error(
                413, "too_large", f"body is {len(body)} bytes; at most {limit} allowed", where
            )
        try:
            message = parse_payload(thing_id, device.kind, kind_channel, body)
        except ContractError as exc:
            status = 413 if exc.reason == "too_large" else 422
            return _error(status, exc.reason, str(exc), where)
        if message.ts_ms is not None:
            ahead = message.ts_ms / 1000 - time.time()
            if ahead > settings.max_future_seconds or -ahead > settings.max_past_seconds:
                reason = "ts_future" if ahead > 0 else "ts_past"
                return _error(
                    422,
                    reason,
                    f"ts {message.ts_ms} is {abs(ahead):.0f} s from the server clock (at most"
                    f" {settings.max_future_seconds:.0f} s ahead and"
                    f" {settings.max_past_seconds:.0f} s behind)",
                    where,
                )
        topic = device_topic(thing_id, kind_channel)
        try:
            async with aiomqtt.Client(
                mqtt_host,
                mqtt_port,
                username=mqtt_username,
                password=mqtt_password,
                identifier=f"citytwin-http-{uuid.uuid4().hex[:12]}",
                protocol=aiomqtt.ProtocolVersion.V5,
                timeout=publish_timeout,
            ) as client:
                await client.publish(topic, body, qos=1, timeout=publish_timeout)
        except aiomqtt.MqttError as exc:
            logger.error("HTTP ingest from %s for %s not published: %s", key, thing_id, exc)
            return _error(
                503, "broker_unavailable", f"the MQTT broker is unreachable: {exc}", where
            )
        logger.debug("HTTP ingest from %s published on %s", key, topic)
        accepted: dict[str, Any] = {"accepted": True, "thing_id": str(thing_id), "topic": topic}
        return JSONResponse(accepted, status_code=202)

    return router
