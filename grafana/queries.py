"""Run a board's queries against InfluxDB the way Grafana does: variables resolved in
order, macros expanded per panel (its own range and minimum interval), one HTTP query each.

Used by the previews and by the tests that hold every panel against real data.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from grafana.errors import BoardError
from grafana.influxql import DEFAULT_MAX_DATA_POINTS, Selection, expand, interval_ms, selection_of
from grafana.model import INFLUX_UID, Json

Series = dict[str, Any]
"""One series of InfluxDB's JSON answer: ``name``, ``tags``, ``columns``, ``values``."""


class InfluxReader:
    """Read-only InfluxQL over the v1 HTTP API, answers as series (epoch ms)."""

    def __init__(self, url: str, database: str, username: str = "", password: str = "") -> None:
        self.where = f"InfluxDB {url.rstrip('/')} database {database!r}"
        auth = (username, password) if username else None
        self._client = httpx.Client(base_url=url.rstrip("/"), auth=auth, timeout=60.0)
        self._database = database

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> InfluxReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def query(self, influxql: str) -> list[Series]:
        """The series of one statement; BoardError naming the query when InfluxDB refuses it."""
        try:
            response = self._client.post(
                "/query", data={"db": self._database, "q": influxql, "epoch": "ms"}
            )
        except httpx.HTTPError as exc:
            raise BoardError(f"{self.where} cannot be reached: {exc}") from exc
        try:
            body = response.json()
        except ValueError as exc:
            raise BoardError(
                f"{self.where} answered {response.status_code}: {response.text}"
            ) from exc
        if response.status_code != 200 or "error" in body:
            raise BoardError(f"{self.where} refused {influxql!r}: {body.get('error', body)}")
        result = body["results"][0]
        if "error" in result:
            raise BoardError(f"{self.where} refused {influxql!r}: {result['error']}")
        series: list[Series] = result.get("series", [])
        return series


@dataclass(slots=True, frozen=True)
class PanelQuery:
    """One InfluxDB target of a panel, ready to run."""

    panel: Json
    target: Json
    query: str
    from_ms: int
    to_ms: int


def panel_range(panel: Json, from_ms: int, to_ms: int) -> tuple[int, int]:
    """The panel's own range when it has one (``timeFrom``: the last N before ``to``)."""
    relative = panel.get("timeFrom")
    if relative:
        return to_ms - interval_ms(relative), to_ms
    return from_ms, to_ms


def influx_targets(board: Json) -> Iterator[tuple[Json, Json]]:
    """Every (panel, target) of the board that reads the citytwin InfluxDB."""
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            if target.get("datasource", {}).get("uid") == INFLUX_UID:
                yield panel, target


def panel_queries(
    board: Json, from_ms: int, to_ms: int, selections: Mapping[str, Selection]
) -> Iterator[PanelQuery]:
    """Every InfluxDB query of the board, expanded for the range and the selections."""
    for panel, target in influx_targets(board):
        start, end = panel_range(panel, from_ms, to_ms)
        query = expand(
            target["query"],
            from_ms=start,
            to_ms=end,
            variables=selections,
            max_data_points=int(panel.get("maxDataPoints", DEFAULT_MAX_DATA_POINTS)),
            min_interval=str(panel.get("interval", "")),
        )
        yield PanelQuery(panel, target, query, start, end)


def custom_options(variable: Json) -> list[str]:
    return [str(option["value"]) for option in variable.get("options", [])]


def variable_options(
    reader: InfluxReader,
    variable: Json,
    selections: Mapping[str, Selection],
    from_ms: int,
    to_ms: int,
) -> list[str]:
    """The values a variable offers, given the selections of the variables before it."""
    if variable["type"] != "query":
        return custom_options(variable)
    query = expand(variable["query"], from_ms=from_ms, to_ms=to_ms, variables=selections)
    values: set[str] = set()
    for series in reader.query(query):
        values.update(str(row[1]) for row in series.get("values", []))
    return sorted(values)


def resolve(
    reader: InfluxReader,
    board: Json,
    from_ms: int,
    to_ms: int,
    chosen: Mapping[str, str] | None = None,
) -> tuple[dict[str, Selection], dict[str, list[str]]]:
    """Selections of every variable in board order (``chosen`` values, else each variable's
    "all", or its first option when it has none) and the options each offered."""
    chosen = chosen or {}
    selections: dict[str, Selection] = {}
    offered: dict[str, list[str]] = {}
    for variable in board["templating"]["list"]:
        name = variable["name"]
        options = variable_options(reader, variable, selections, from_ms, to_ms)
        offered[name] = options
        value = chosen.get(name)
        if value is None and not variable.get("includeAll"):
            value = options[0] if options else str(variable.get("current", {}).get("value", ""))
        selections[name] = selection_of(variable, value, options)
    return selections, offered
