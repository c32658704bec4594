"""The few Grafana JSON shapes citytwin's boards are made of, built as plain dicts.

Grafana's dashboard model (schemaVersion 42, the JSON Schema of grafana-foundation-sdk)
is written out directly rather than through grafanalib: grafanalib's InfluxDB target
and panel classes lag the current model (no datasource references by uid, older panel
options), and the boards must validate against the current schema and be reproducible
byte for byte. Every function here returns a fresh dict; ``Board`` numbers the panels
and lays them out on Grafana's 24-column grid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 42
INFLUX_UID = "citytwin-influxdb"
"""The uid of the provisioned InfluxDB datasource every query uses."""
SITES_UID = "citytwin-sites"
"""The uid of the provisioned TestData datasource holding the sites' coordinates."""
INFLUX = {"type": "influxdb", "uid": INFLUX_UID}
SITES = {"type": "grafana-testdata-datasource", "uid": SITES_UID}
TIMEZONE = "Asia/Ho_Chi_Minh"

Json = dict[str, Any]


def influx(query: str, ref: str = "A", alias: str = "", table: bool = False) -> Json:
    """A raw InfluxQL target (Grafana's InfluxDB datasource in InfluxQL mode)."""
    target: Json = {
        "refId": ref,
        "datasource": dict(INFLUX),
        "query": query,
        "rawQuery": True,
        "resultFormat": "table" if table else "time_series",
    }
    if alias:
        target["alias"] = alias
    return target


def thresholds(*steps: tuple[float | None, str]) -> Json:
    """Absolute thresholds: ``(None, base colour)`` first, then ``(value, colour)``."""
    return {"mode": "absolute", "steps": [{"value": v, "color": c} for v, c in steps]}


GREEN_ONLY = thresholds((None, "green"))


@dataclass(slots=True)
class Panel:
    """One panel: what it shows (``kind``), its queries and how its values read."""

    kind: str
    title: str
    description: str
    targets: list[Json] = field(default_factory=list)
    width: int = 12
    height: int = 8
    unit: str = ""
    decimals: int | None = None
    limits: Json = field(default_factory=lambda: dict(GREEN_ONLY))
    options: Json = field(default_factory=dict)
    custom: Json = field(default_factory=dict)
    mappings: list[Json] = field(default_factory=list)
    time_from: str = ""
    """A relative range of its own (``30d``): long-range panels read the rollups."""
    interval: str = ""
    """Smallest GROUP BY interval (``1m`` for rollups: nothing finer exists)."""
    transformations: list[Json] = field(default_factory=list)
    minimum: float | None = None
    maximum: float | None = None

    def json(self, panel_id: int, x: int, y: int) -> Json:
        defaults: Json = {"thresholds": self.limits, "mappings": self.mappings}
        if self.unit:
            defaults["unit"] = self.unit
        if self.decimals is not None:
            defaults["decimals"] = self.decimals
        if self.custom:
            defaults["custom"] = self.custom
        if self.minimum is not None:
            defaults["min"] = self.minimum
        if self.maximum is not None:
            defaults["max"] = self.maximum
        body: Json = {
            "id": panel_id,
            "type": self.kind,
            "title": self.title,
            "description": self.description,
            "gridPos": {"h": self.height, "w": self.width, "x": x, "y": y},
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": self.options,
        }
        if self.targets:
            body["datasource"] = dict(self.targets[0]["datasource"])
            body["targets"] = self.targets
        if self.time_from:
            body["timeFrom"] = self.time_from
        if self.interval:
            body["interval"] = self.interval
        if self.transformations:
            body["transformations"] = self.transformations
        return body


def query_variable(
    name: str, label: str, description: str, query: str, *, all_value: str = ""
) -> Json:
    """A multi-value InfluxDB tag variable with an "all" option, refreshed with the range."""
    variable: Json = {
        "type": "query",
        "name": name,
        "label": label,
        "description": description,
        "datasource": dict(INFLUX),
        "query": query,
        "refresh": 2,
        "multi": True,
        "includeAll": True,
        "sort": 1,
        "current": {"text": ["All"], "value": ["$__all"]},
        "options": [],
    }
    if all_value:
        variable["allValue"] = all_value
    return variable


def custom_variable(
    name: str, label: str, description: str, options: list[tuple[str, str]], hide: int = 0
) -> Json:
    """A single-value list of ``(text, value)`` pairs; the first is selected."""
    return {
        "type": "custom",
        "name": name,
        "label": label,
        "description": description,
        "query": ",".join(f"{text} : {value}" for text, value in options),
        "multi": False,
        "includeAll": False,
        "hide": hide,
        "current": {"text": options[0][0], "value": options[0][1]},
        "options": [
            {"text": text, "value": value, "selected": i == 0}
            for i, (text, value) in enumerate(options)
        ],
    }


def constant_variable(name: str, description: str, value: str) -> Json:
    """A hidden value set at provisioning (the console's base URL)."""
    return {
        "type": "constant",
        "name": name,
        "description": description,
        "query": value,
        "hide": 2,
        "current": {"text": value, "value": value},
        "options": [{"text": value, "value": value, "selected": True}],
    }


BUILT_IN_ANNOTATION: Json = {
    "builtIn": 1,
    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
    "enable": True,
    "hide": True,
    "iconColor": "rgba(0, 211, 255, 1)",
    "name": "Annotations & Alerts",
    "type": "dashboard",
}


def influx_annotation(name: str, query: str, text_column: str, tags_column: str) -> Json:
    """Events drawn on every time axis of the board, from an InfluxQL query."""
    return {
        "name": name,
        "datasource": dict(INFLUX),
        "enable": True,
        "iconColor": "red",
        "target": {
            "refId": "Anno",
            "query": query,
            "rawQuery": True,
            "resultFormat": "table",
            "textColumn": text_column,
            "tagsColumn": tags_column,
        },
    }


@dataclass(slots=True)
class Board:
    """A dashboard: panels laid out left to right, top to bottom, in the order given."""

    uid: str
    title: str
    description: str
    folder: str
    panels: list[Panel]
    variables: list[Json] = field(default_factory=list)
    annotations: list[Json] = field(default_factory=list)
    time_from: str = "now-24h"
    tags: list[str] = field(default_factory=list)

    def json(self) -> Json:
        placed: list[Json] = []
        x = y = row_height = 0
        for number, panel in enumerate(self.panels, start=1):
            if x + panel.width > 24:
                x, y, row_height = 0, y + row_height, 0
            placed.append(panel.json(number, x, y))
            x += panel.width
            row_height = max(row_height, panel.height)
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": ["citytwin", *self.tags],
            "timezone": TIMEZONE,
            "editable": True,
            "graphTooltip": 1,
            "refresh": "30s",
            "time": {"from": self.time_from, "to": "now"},
            "timepicker": {},
            "fiscalYearStartMonth": 0,
            "weekStart": "monday",
            "schemaVersion": SCHEMA_VERSION,
            "version": 1,
            "links": [],
            "panels": placed,
            "templating": {"list": self.variables},
            "annotations": {"list": [dict(BUILT_IN_ANNOTATION), *self.annotations]},
        }
