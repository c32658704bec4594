"""The InfluxDB v1 calls the KPI engine makes: InfluxQL queries and line-protocol writes.

Written before analytics could import ``ingest.influx``, whose query does not chunk yet
(the two are to become one): the two calls over httpx that the engine needs. Queries are
asked ``chunked`` so a day of the province's points comes in pieces of 10,000 rows whatever the
server's ``max-row-limit``.
"""

from __future__ import annotations

import base64
import logging
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx
import orjson

from analytics.kpis.errors import KpiStoreError

logger = logging.getLogger(__name__)

_TAG_ESCAPES = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ ", "\n": " "})


def escape_tag(value: str) -> str:
    return value.translate(_TAG_ESCAPES)


def quote_ident(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(slots=True, frozen=True)
class Series:
    """One series of an answer: its tags, column names and rows (time in epoch ms)."""

    name: str
    tags: dict[str, str]
    columns: list[str]
    values: list[list[Any]]

    def rows(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.values]


class KpiInflux(AbstractAsyncContextManager["KpiInflux"]):
    """One database of an InfluxDB (1.x, or 2.x/3.x through their v1 API)."""

    def __init__(
        self,
        url: str,
        database: str,
        *,
        username: str = "",
        password: str = "",
        token: str = "",
        timeout: float = 60.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.database = database
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

    async def query(self, influxql: str) -> list[Series]:
        """Every series of every statement of ``influxql``, chunks joined."""
        params = {"db": self.database, "epoch": "ms", "chunked": "true", "chunk_size": "10000"}
        try:
            response = await self._http.post("/query", params=params, data={"q": influxql})
        except httpx.HTTPError as exc:
            raise KpiStoreError(
                f"InfluxDB at {self.url} did not answer {influxql[:200]!r}: {exc}"
            ) from exc
        if response.status_code >= 400:
            raise KpiStoreError(
                f"InfluxDB at {self.url} answered {response.status_code} to"
                f" {influxql[:200]!r} on {self.database!r}: {response.text[:300]}"
            )
        joined: dict[tuple[int, str, tuple[tuple[str, str], ...]], Series] = {}
        for line in response.content.splitlines():
            if not line.strip():
                continue
            body = orjson.loads(line)
            if "error" in body:
                raise KpiStoreError(f"InfluxDB refused {influxql[:200]!r}: {body['error']}")
            for result in body.get("results", []):
                if "error" in result:
                    raise KpiStoreError(f"InfluxDB refused {influxql[:200]!r}: {result['error']}")
                for series in result.get("series", []):
                    tags = series.get("tags", {})
                    key = (
                        result.get("statement_id", 0),
                        series["name"],
                        tuple(sorted(tags.items())),
                    )
                    found = joined.get(key)
                    if found is None:
                        joined[key] = Series(series["name"], tags, series["columns"], [])
                        found = joined[key]
                    found.values.extend(series.get("values", []))
        return list(joined.values())

    async def write(
        self, lines: list[str], *, batch: int = 20_000, policy: str | None = None
    ) -> None:
        """Write line-protocol points (precision ns) in batches, to ``policy`` if given."""
        params = {"db": self.database, "precision": "ns"}
        if policy:
            params["rp"] = policy
        for first in range(0, len(lines), batch):
            body = "\n".join(lines[first : first + batch]).encode()
            try:
                response = await self._http.post("/write", params=params, content=body)
            except httpx.HTTPError as exc:
                raise KpiStoreError(
                    f"InfluxDB at {self.url} did not take {len(lines)} kpi points: {exc}"
                ) from exc
            if response.status_code != 204:
                raise KpiStoreError(
                    f"InfluxDB at {self.url} answered {response.status_code} to a write of kpi"
                    f" points to {self.database!r}: {response.text[:300]}"
                )
