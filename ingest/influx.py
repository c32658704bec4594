"""A small client of InfluxDB's v1 HTTP API: /ping, /write (line protocol), /query.

Written here rather than taken from a library: ``influxdb-client`` speaks only the 2.x API
(404 on 1.x), and the 1.x ``influxdb`` package is synchronous, unmaintained and slower on
the write path than posting an already-encoded, gzipped body with httpx. The same calls
work against InfluxDB 1.x, 2.x/3.x (v1 compatibility API, ``Authorization: Token``) and
openGemini.
"""

from __future__ import annotations

import base64
import gzip
import logging
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any

import httpx

from ingest.errors import InfluxRejectedError, InfluxTooLargeError, InfluxUnavailableError

logger = logging.getLogger(__name__)

RAW_POLICY = "raw"
ROLLUP_POLICY = "rollup_1m"
KEPT_POLICY = "kept"
"""Points kept forever: sectors' indicator figures and their revisions, which are few and
whose history is the point (``analytics.indicators``)."""


_WRITE_CAUSES = {
    401: " (credentials refused: check the InfluxDB user/token)",
    403: " (not allowed: the InfluxDB user may not write to this database)",
    404: " (the database does not exist)",
}


def _quote(identifier: str) -> str:
    return '"' + identifier.replace("\\", "\\\\").replace('"', '\\"') + '"'


class InfluxV1Client(AbstractAsyncContextManager["InfluxV1Client"]):
    """Async client of one database through the v1 HTTP API."""

    def __init__(
        self,
        url: str,
        database: str,
        *,
        username: str = "",
        password: str = "",
        token: str = "",
        timeout: float = 10.0,
        gzip_level: int = 1,
    ) -> None:
        self.url = url.rstrip("/")
        self.database = database
        self.gzip_level = gzip_level
        headers = {}
        if token:
            headers["Authorization"] = f"Token {token}"
        elif username:
            basic = base64.b64encode(f"{username}:{password}".encode()).decode()
            headers["Authorization"] = f"Basic {basic}"
        self._http = httpx.AsyncClient(
            base_url=self.url, headers=headers, timeout=timeout, trust_env=False
        )

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._http.aclose()

    def compress(self, body: bytes) -> bytes:
        """The body as sent: gzipped unless the level is 0 (CPU work: call off the loop)."""
        if self.gzip_level == 0:
            return body
        return gzip.compress(body, compresslevel=self.gzip_level)

    def decompress(self, body: bytes) -> bytes:
        """The line protocol of a body made by `compress` (CPU work: call off the loop)."""
        if self.gzip_level == 0:
            return body
        return gzip.decompress(body)

    async def ping(self) -> bool:
        """True when InfluxDB answers /ping."""
        try:
            response = await self._http.get("/ping")
        except httpx.HTTPError:
            return False
        return response.status_code == 204

    async def write(self, body: bytes, *, policy: str | None = RAW_POLICY) -> None:
        """POST a body from `compress` to /write (precision ns).

        Raises ``InfluxRejectedError`` only on 400 (points that do not parse or conflict
        with a field's type; a partial write names them), ``InfluxTooLargeError`` on 413,
        and ``InfluxUnavailableError`` on anything else: 5xx, timeouts, no connection, and
        401/403 (credentials), 404 (no such database) and other 4xx, which an operator can
        fix while the points wait in the spool.
        """
        params = {"db": self.database, "precision": "ns"}
        if policy:
            params["rp"] = policy
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        if self.gzip_level:
            headers["Content-Encoding"] = "gzip"
        try:
            response = await self._http.post("/write", params=params, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise InfluxUnavailableError(
                f"InfluxDB at {self.url} did not take a write to {self.database!r}:"
                f" {type(exc).__name__}: {exc}"
            ) from exc
        if response.status_code == 204:
            return
        status = response.status_code
        text = response.text[:500]
        if status == 400:
            raise InfluxRejectedError(
                f"InfluxDB at {self.url} refused points written to {self.database!r} with"
                f" 400: {text}",
                status=status,
            )
        if status == 413:
            raise InfluxTooLargeError(
                f"InfluxDB at {self.url} refused a write of {len(body)} bytes to"
                f" {self.database!r} as too large (413): {text}",
                status=status,
            )
        cause = _WRITE_CAUSES.get(status, "")
        raise InfluxUnavailableError(
            f"InfluxDB at {self.url} answered {status} to a write to {self.database!r}"
            f"{cause}: {text}",
            status=status,
        )

    async def query(self, influxql: str) -> dict[str, Any]:
        """Run InfluxQL (POST /query) and return the JSON; errors of a statement raise."""
        try:
            response = await self._http.post(
                "/query", data={"q": influxql, "db": self.database, "epoch": "ms"}
            )
        except httpx.HTTPError as exc:
            raise InfluxUnavailableError(
                f"InfluxDB at {self.url} did not answer {influxql!r}: {exc}"
            ) from exc
        if response.status_code >= 500:
            raise InfluxUnavailableError(
                f"InfluxDB at {self.url} answered {response.status_code} to {influxql!r}"
            )
        body: dict[str, Any] = response.json() if response.content else {}
        errors = [r["error"] for r in body.get("results", []) if "error" in r]
        if response.status_code >= 400 or "error" in body or errors:
            raise InfluxRejectedError(
                f"InfluxDB at {self.url} refused {influxql!r}:"
                f" {body.get('error') or '; '.join(errors) or response.text[:300]}",
                status=response.status_code,
            )
        return body

    async def setup(self, raw_days: int, rollup_days: int) -> None:
        """Create the database, the ``raw`` (default), ``rollup_1m`` and ``kept`` (no expiry)
        retention policies and the continuous query that keeps 1-minute means of every
        numeric field.

        What already exists as asked is left alone, so a user with only ``ALL`` on a
        database prepared by an admin (the embedded stack's ``citytwin`` user) runs this
        at every start without needing admin rights.
        """
        db = _quote(self.database)
        if self.database not in await self._databases():
            await self.query(f"CREATE DATABASE {db}")
        existing = await self._retention_policies()
        for policy, days, default in (
            (RAW_POLICY, raw_days, True),
            (ROLLUP_POLICY, rollup_days, False),
            (KEPT_POLICY, None, False),
        ):
            wanted = (f"{days * 24}h0m0s" if days else "0s", default)
            if existing.get(policy) == wanted:
                continue
            verb = "ALTER" if policy in existing else "CREATE"
            await self.query(
                f"{verb} RETENTION POLICY {_quote(policy)} ON {db}"
                f" DURATION {f'{days}d' if days else 'INF'}"
                f" REPLICATION 1{' DEFAULT' if default else ''}"
            )
        try:
            await self.query(
                f"CREATE CONTINUOUS QUERY {_quote('rollup_1m')} ON {db} BEGIN"
                f" SELECT mean(*) INTO {db}.{_quote(ROLLUP_POLICY)}.:MEASUREMENT"
                f" FROM {db}.{_quote(RAW_POLICY)}./.*/ GROUP BY time(1m), * END"
            )
        except InfluxRejectedError as exc:
            if "already exists" not in str(exc):
                raise

    async def _databases(self) -> set[str]:
        """The databases this user may see."""
        body = await self.query("SHOW DATABASES")
        return {row[0] for row in _values(body)}

    async def _retention_policies(self) -> dict[str, tuple[str, bool]]:
        """``policy → (duration, default)`` of the database (empty if it does not exist)."""
        try:
            body = await self.query(f"SHOW RETENTION POLICIES ON {_quote(self.database)}")
        except InfluxRejectedError as exc:
            if "database not found" in str(exc):
                return {}
            raise
        return {row[0]: (str(row[1]), bool(row[4])) for row in _values(body)}


def _values(body: dict[str, Any]) -> list[list[Any]]:
    """The rows of the first series of a /query answer."""
    for result in body.get("results", []):
        for series in result.get("series", []):
            values: list[list[Any]] = series.get("values", [])
            return values
    return []
