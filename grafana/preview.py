"""Static previews: each board drawn to a PNG from the same queries Grafana would run.

For the README and the docs, and for an operator who must send a board as a picture.
Panels are placed on Grafana's 24-column grid; timeseries, bar charts, stats, gauges,
tables, state timelines, the sites map (markers at the sites' coordinates) and text
panels are drawn with matplotlib, in DejaVu Sans (matplotlib's own font, which has every
Vietnamese letter).
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import matplotlib
import matplotlib.dates as mdates
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from grafana.errors import PreviewError
from grafana.influxql import Selection
from grafana.model import SITES_UID, TIMEZONE, Json
from grafana.queries import InfluxReader, Series, panel_queries, resolve

logger = logging.getLogger(__name__)
matplotlib.rcParams["font.family"] = "DejaVu Sans"
ZONE = ZoneInfo(TIMEZONE)
GRID_INCH = 0.32
"""Height of one grid row; a row of Grafana's grid is 30 px, a column 1/24 of the width."""
COLOURS = {"green": "#56a64b", "orange": "#ff9830", "red": "#e02f44", "blue": "#3274d9"}
PALETTE = ["#7eb26d", "#eab839", "#6ed0e0", "#ef843c", "#e24d42", "#1f78c1", "#ba43a9"]


@dataclass(slots=True)
class PanelData:
    """The answers of one panel's InfluxDB queries."""

    series: list[tuple[Json, Series]]
    """(target, series) in target order."""


def _colour(name: str) -> str:
    return COLOURS.get(name, name)


def _threshold_colour(panel: Json, value: float) -> str:
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    colour = steps[0]["color"]
    for step in steps[1:]:
        if value >= step["value"]:
            colour = step["color"]
    return _colour(colour)


def _unit(panel: Json) -> str:
    unit = str(panel["fieldConfig"]["defaults"].get("unit", ""))
    if unit.startswith("suffix:"):
        return unit.removeprefix("suffix:")
    return {"percent": " %", "celsius": " °C"}.get(unit, "")


def _label(target: Json, series: Series, column: str) -> str:
    alias = str(target.get("alias", ""))
    if not alias:
        tags = ", ".join(str(v) for v in (series.get("tags") or {}).values())
        name = column if column not in ("mean", "last", "max", "sum", "count") else series["name"]
        return f"{name} {tags}".strip()
    for key, value in (series.get("tags") or {}).items():
        alias = alias.replace(f"$tag_{key}", str(value))
    return alias.replace("$measurement", str(series.get("name", "")))


def _times(series: Series) -> list[datetime]:
    return [datetime.fromtimestamp(row[0] / 1000, UTC).astimezone(ZONE) for row in series["values"]]


def _time_axis(ax: Axes, pattern: str) -> None:
    formatter = mdates.DateFormatter(pattern, tz=ZONE)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_formatter(formatter)


def _day_numbers(times: list[datetime]) -> list[float]:
    """Matplotlib's date numbers (days) of ``times``."""
    return [float(mdates.date2num(t)) for t in times]  # type: ignore[no-untyped-call]


def _numeric(value: Any) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float) and not (isinstance(value, float) and math.isnan(value)):
        return float(value)
    return None


def _rows(data: PanelData) -> tuple[list[str], list[list[Any]]]:
    """A table of every series: its tags as columns, then its columns (time dropped)."""
    header: list[str] = []
    rows: list[list[Any]] = []
    for _, series in data.series:
        tags = series.get("tags") or {}
        columns = [c for c in series["columns"] if c != "time"]
        for name in [*tags, *columns]:
            if name not in header:
                header.append(name)
        for values in series["values"]:
            row = dict(tags)
            row.update(zip(series["columns"], values, strict=False))
            rows.append([row.get(name, "") for name in header])
    width = len(header)
    return header, [r + [""] * (width - len(r)) for r in rows]


def _draw_timeseries(ax: Axes, panel: Json, data: PanelData) -> None:
    bars = panel["fieldConfig"]["defaults"].get("custom", {}).get("drawStyle") == "bars"
    for index, (target, series) in enumerate(data.series):
        times = _times(series)
        for column_index, column in enumerate(series["columns"][1:], start=1):
            values = [_numeric(row[column_index]) for row in series["values"]]
            colour = PALETTE[(index + column_index - 1) % len(PALETTE)]
            label = _label(target, series, column)
            points = [(t, v) for t, v in zip(times, values, strict=True) if v is not None]
            if not points:
                continue
            xs, ys = zip(*points, strict=True)
            if bars:
                days = _day_numbers(list(xs))
                step = min((b - a for a, b in itertools.pairwise(days)), default=0.01)
                ax.bar(xs, ys, width=0.8 * step, color=colour, label=label)
            else:
                ax.plot(xs, ys, color=colour, linewidth=1.2, label=label)
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    if panel["fieldConfig"]["defaults"].get("custom", {}).get("thresholdsStyle"):
        for step in steps[1:]:
            ax.axhline(step["value"], color=_colour(step["color"]), linestyle="--", linewidth=1)
    _time_axis(ax, "%d/%m %H:%M")
    ax.tick_params(labelsize=7)
    ax.set_ylabel(_unit(panel).strip(), fontsize=8)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=6, loc="upper left", ncols=3, frameon=False)
    ax.grid(alpha=0.3)


def _last_values(data: PanelData) -> list[tuple[str, float]]:
    found = []
    for target, series in data.series:
        for column_index, column in enumerate(series["columns"]):
            if column == "time":
                continue
            numbers = [_numeric(row[column_index]) for row in series["values"]]
            present = [n for n in numbers if n is not None]
            if present:
                found.append((_label(target, series, column), present[-1]))
    return found


def _value_text(panel: Json, value: float) -> str:
    decimals = panel["fieldConfig"]["defaults"].get("decimals")
    text = f"{value:.{decimals}f}" if decimals is not None else f"{value:g}"
    return text + _unit(panel)


def _draw_stat(ax: Axes, panel: Json, data: PanelData) -> None:
    ax.axis("off")
    values = _last_values(data)[:4]
    for index, (label, value) in enumerate(values):
        x = (index + 0.5) / len(values)
        colour = _threshold_colour(panel, value)
        ax.text(x, 0.5, _value_text(panel, value), ha="center", va="center", fontsize=18,
                color=colour, fontweight="bold", transform=ax.transAxes)  # fmt: skip
        if len(values) > 1:
            ax.text(x, 0.12, label, ha="center", fontsize=7, transform=ax.transAxes)


def _draw_gauge(ax: Axes, panel: Json, data: PanelData) -> None:
    ax.axis("off")
    values = _last_values(data)
    if not values:
        return
    _, value = values[0]
    defaults = panel["fieldConfig"]["defaults"]
    low, high = float(defaults.get("min", 0)), float(defaults.get("max", 100))
    share = min(1.0, max(0.0, (value - low) / (high - low or 1)))
    ax.set_xlim(-1.2, 1.2)
    ax.set_ylim(-0.3, 1.2)
    ax.set_aspect("equal")
    angles = [math.pi * (1 - i / 100) for i in range(101)]
    ax.plot([math.cos(a) for a in angles], [math.sin(a) for a in angles], color="#ddd", lw=10)
    done = angles[: int(share * 100) + 1]
    ax.plot([math.cos(a) for a in done], [math.sin(a) for a in done],
            color=_threshold_colour(panel, value), lw=10)  # fmt: skip
    ax.text(0, 0.25, _value_text(panel, value), ha="center", fontsize=14, fontweight="bold")


def _draw_bar(ax: Axes, panel: Json, data: PanelData) -> None:
    header, rows = _rows(data)
    field = panel["options"].get("xField")
    if not rows or field not in header:
        return
    x = header.index(field)
    values = [
        i for i, name in enumerate(header) if i != x and rows and _numeric(rows[0][i]) is not None
    ]
    labels = [str(r[x]) for r in rows]
    width = 0.8 / max(1, len(values))
    for n, column in enumerate(values):
        heights = [_numeric(r[column]) or 0.0 for r in rows]
        positions = [i + n * width for i in range(len(rows))]
        if panel["options"].get("orientation") == "horizontal":
            ax.barh(positions, heights, height=width, color=PALETTE[n], label=header[column])
        else:
            ax.bar(positions, heights, width=width, color=PALETTE[n], label=header[column])
    ticks = [i + width * (len(values) - 1) / 2 for i in range(len(rows))]
    if panel["options"].get("orientation") == "horizontal":
        ax.set_yticks(ticks, labels, fontsize=7)
    else:
        ax.set_xticks(ticks, labels, fontsize=7, rotation=20)
    ax.tick_params(labelsize=7)
    if len(values) > 1:
        ax.legend(fontsize=7, frameon=False)
    ax.grid(alpha=0.3)


def _draw_table(ax: Axes, panel: Json, data: PanelData) -> None:
    ax.axis("off")
    header, rows = _rows(data)
    if not rows:
        return
    shown = [[_cell(v) for v in row] for row in rows[:12]]
    table = ax.table(cellText=shown, colLabels=header, loc="upper center", cellLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    table.scale(1, 1.2)


def _cell(value: Any) -> str:
    if isinstance(value, int) and value > 10**11:  # epoch ms
        return datetime.fromtimestamp(value / 1000, UTC).astimezone(ZONE).strftime("%d/%m %H:%M")
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)[:40]


def _state_colour(panel: Json, value: Any) -> tuple[str, str]:
    for mapping in panel["fieldConfig"]["defaults"].get("mappings", []):
        found = mapping["options"].get(
            str(value).lower() if isinstance(value, bool) else str(value)
        )
        if found:
            return _colour(found["color"]), found["text"]
    return "#999", str(value)


def _draw_state_timeline(ax: Axes, panel: Json, data: PanelData) -> None:
    labels = []
    for row, (target, series) in enumerate(data.series):
        labels.append(_label(target, series, series["columns"][1]))
        times = _day_numbers(_times(series))
        values = [r[1] for r in series["values"]]
        # one bar per run of equal values, as Grafana merges them (mergeValues)
        start = 0
        for i in range(1, len(values) + 1):
            if i < len(values) and values[i] == values[start]:
                continue
            if values[start] is not None:
                end = times[i] if i < len(times) else times[-1]
                colour, _ = _state_colour(panel, values[start])
                ax.barh(row, end - times[start], left=times[start], height=0.8, color=colour)
            start = i
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.xaxis_date(tz=ZONE)
    _time_axis(ax, "%H:%M")
    ax.tick_params(labelsize=7)


def _draw_geomap(ax: Axes, panel: Json, data: PanelData) -> None:
    header, rows = _rows(data)
    share = {str(r[header.index("site")]): _numeric(r[header.index("online")]) for r in rows
             if "site" in header and "online" in header}  # fmt: skip
    sites = next(t for t in panel["targets"] if t.get("datasource", {}).get("uid") == SITES_UID)
    for site in csv.DictReader(io.StringIO(sites["csvContent"])):
        value = share.get(site["site"])
        colour = "#999" if value is None else _threshold_colour(panel, value)
        lon, lat = float(site["longitude"]), float(site["latitude"])
        ax.scatter([lon], [lat], s=60, color=colour, edgecolor="black", linewidth=0.4)
        ax.annotate(
            site["name"][:28], (lon, lat), fontsize=5, xytext=(3, 3), textcoords="offset points"
        )
    ax.set_aspect("equal", adjustable="datalim")
    ax.tick_params(labelsize=6)
    ax.grid(alpha=0.3)


def _draw_text(ax: Axes, panel: Json, data: PanelData) -> None:
    ax.axis("off")
    content = str(panel["options"].get("content", ""))
    if panel["options"].get("mode") == "html":
        content = "(khung nhúng trực tiếp — chỉ hiển thị trong Grafana)"
    lines = [line for line in content.splitlines() if line.strip() and not line.startswith("|---")]
    text = "\n".join(line.replace("|", "  ").strip() for line in lines[:12])
    ax.text(0.01, 0.95, text, va="top", fontsize=7, transform=ax.transAxes, family="DejaVu Sans")


DRAW = {
    "timeseries": _draw_timeseries,
    "stat": _draw_stat,
    "gauge": _draw_gauge,
    "barchart": _draw_bar,
    "table": _draw_table,
    "state-timeline": _draw_state_timeline,
    "geomap": _draw_geomap,
    "text": _draw_text,
}


def panel_data(reader: InfluxReader, board: Json, from_ms: int, to_ms: int,
               selections: Mapping[str, Selection]) -> dict[int, PanelData]:  # fmt: skip
    """Every panel's answers, by panel id."""
    found: dict[int, PanelData] = {p["id"]: PanelData([]) for p in board["panels"]}
    for run in panel_queries(board, from_ms, to_ms, selections):
        for series in reader.query(run.query):
            found[run.panel["id"]].series.append((run.target, series))
    return found


def render(board: Json, data: Mapping[int, PanelData], subtitle: str) -> Figure:
    """The board as one figure, panels where Grafana's grid puts them."""
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in board["panels"])
    figure = Figure(figsize=(16, rows * GRID_INCH + 0.8))
    grid = figure.add_gridspec(
        rows, 24, hspace=2.4, wspace=1.6, top=1 - 0.9 / (rows * GRID_INCH + 0.8)
    )
    figure.suptitle(f"{board['title']} — {subtitle}", fontsize=13, fontweight="bold")
    for panel in board["panels"]:
        pos = panel["gridPos"]
        ax = figure.add_subplot(
            grid[pos["y"] : pos["y"] + pos["h"], pos["x"] : pos["x"] + pos["w"]]
        )
        ax.set_title(panel["title"], fontsize=9, loc="left")
        draw = DRAW.get(panel["type"])
        if draw is None:
            raise PreviewError(f"board {board['uid']}: panel type {panel['type']!r} has no preview")
        panel_answers = data.get(panel["id"], PanelData([]))
        if not panel_answers.series and panel.get("targets"):
            ax.axis("off")
            ax.text(0.5, 0.5, "Không có dữ liệu", ha="center", va="center", color="#888",
                    transform=ax.transAxes)  # fmt: skip
            continue
        draw(ax, panel, panel_answers)
    return figure


@dataclass(slots=True, frozen=True)
class PreviewTiming:
    board: str
    path: Path
    query_seconds: float
    render_seconds: float


def preview_board(reader: InfluxReader, board: Json, out: Path, from_ms: int, to_ms: int,
                  chosen: Mapping[str, str] | None = None) -> PreviewTiming:  # fmt: skip
    """Query and draw one board to ``out/<uid>.png``."""
    started = time.perf_counter()
    selections, _ = resolve(reader, board, from_ms, to_ms, chosen)
    data = panel_data(reader, board, from_ms, to_ms, selections)
    queried = time.perf_counter()
    start = datetime.fromtimestamp(from_ms / 1000, UTC).astimezone(ZONE)
    end = datetime.fromtimestamp(to_ms / 1000, UTC).astimezone(ZONE)
    figure = render(board, data, f"{start:%d/%m/%Y %H:%M} → {end:%d/%m/%Y %H:%M}")
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{board['uid']}.png"
    figure.savefig(path, dpi=90)
    return PreviewTiming(board["uid"], path, queried - started, time.perf_counter() - queried)
