"""Health probes shared by the supervisor (is a child ready?) and ``citytwin status``."""

from __future__ import annotations

import asyncio
import logging

import aiomqtt
import httpx

logger = logging.getLogger(__name__)

PROBE_TIMEOUT = 2.0


async def mqtt_ready(host: str, port: int, username: str, password: str) -> bool:
    """True when the broker accepts a connection with these credentials."""
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            async with aiomqtt.Client(
                host, port, username=username, password=password, timeout=PROBE_TIMEOUT
            ):
                return True
    except (aiomqtt.MqttError, TimeoutError, OSError) as exc:
        logger.debug("MQTT probe of %s:%d failed: %s", host, port, exc)
        return False


async def http_ready(url: str, *, expect: int = 200, auth: tuple[str, str] | None = None) -> bool:
    """True when ``GET url`` answers with status ``expect``."""
    try:
        async with httpx.AsyncClient(timeout=PROBE_TIMEOUT, auth=auth) as client:
            response = await client.get(url)
    except httpx.HTTPError as exc:
        logger.debug("HTTP probe of %s failed: %s", url, exc)
        return False
    return response.status_code == expect


async def caldav_ready(url: str, username: str, password: str) -> bool:
    """True when the CalDAV server lists ``url`` (a calendar home) for this user."""
    try:
        async with httpx.AsyncClient(timeout=PROBE_TIMEOUT, auth=(username, password)) as client:
            response = await client.request("PROPFIND", url, headers={"Depth": "0"})
    except httpx.HTTPError as exc:
        logger.debug("CalDAV probe of %s failed: %s", url, exc)
        return False
    return response.status_code == 207
