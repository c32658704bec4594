"""Grafana's InfluxQL macros and template variables, expanded as its InfluxDB datasource does.

The tests and the previews run each panel's query as Grafana would send it:

- ``$timeFilter`` → ``time >= {from}ms and time <= {to}ms``;
- ``$__interval`` / ``$interval`` → the interval in its largest whole unit (90 s → ``1m``),
  ``$__interval_ms`` → milliseconds; interval = max(round(range / maxDataPoints), the
  panel's minimum interval);
- a variable that is multi-value or has "all" → its values regex-escaped, one as is,
  several as ``(a|b)``; "all" → the variable's ``allValue`` if set (not escaped), else
  every option; a single-value variable → its value unescaped;
- ``$name``, ``${name}``, ``${name:csv}`` and ``[[name]]`` are the variable's places.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from grafana.errors import BoardError

DEFAULT_MAX_DATA_POINTS = 1000
_UNITS = (("y", 365 * 86_400_000), ("w", 7 * 86_400_000), ("d", 86_400_000),
          ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1))  # fmt: skip
_INTERVAL = re.compile(r"^(\d+)(ms|s|m|h|d|w|y)$")
_PLACE = re.compile(r"\$\{(\w+)(?::(\w+))?\}|\[\[(\w+)\]\]|\$(\w+)")
_REGEX_SPECIAL = re.compile(r"[\\^$*+?.()|{}\[\]/]")


@dataclass(slots=True, frozen=True)
class Selection:
    """What a template variable is set to: values, or "all" of ``options``."""

    values: tuple[str, ...]
    multi: bool
    """Multi-value or with an "all" option: its values are regex-escaped."""
    is_all: bool = False
    all_value: str = ""
    options: tuple[str, ...] = ()


def interval_ms(text: str) -> int:
    """``"1h"`` → 3,600,000."""
    match = _INTERVAL.match(text)
    if match is None:
        raise BoardError(f"interval {text!r} is not a number followed by ms, s, m, h, d, w or y")
    return int(match.group(1)) * dict(_UNITS)[match.group(2)]


def format_interval(ms: int) -> str:
    """The interval in its largest whole unit, as Grafana writes it (90,000 → ``1m``)."""
    for unit, size in _UNITS:
        if ms >= size:
            return f"{ms // size}{unit}"
    return "1ms"


def group_interval(from_ms: int, to_ms: int, max_data_points: int, minimum: str = "") -> int:
    """The ``$__interval`` of a panel in milliseconds."""
    raw = max(1, round((to_ms - from_ms) / max_data_points))
    return max(raw, interval_ms(minimum)) if minimum else raw


def regex_escape(value: str) -> str:
    """Escape as Grafana's ``kbn.regexEscape`` does (also ``/``, the InfluxQL delimiter)."""
    return _REGEX_SPECIAL.sub(lambda m: "\\" + m.group(0), value)


def _as_regex(selection: Selection) -> str:
    if selection.is_all and selection.all_value:
        return selection.all_value
    values = selection.options if selection.is_all else selection.values
    if not selection.multi:
        return values[0] if values else ""
    escaped = [regex_escape(v) for v in values]
    if len(escaped) == 1:
        return escaped[0]
    return "(" + "|".join(escaped) + ")"


def _as_csv(selection: Selection) -> str:
    values = selection.options if selection.is_all else selection.values
    return ",".join(values)


def expand(
    query: str,
    *,
    from_ms: int,
    to_ms: int,
    variables: Mapping[str, Selection],
    max_data_points: int = DEFAULT_MAX_DATA_POINTS,
    min_interval: str = "",
) -> str:
    """``query`` as Grafana sends it to InfluxDB for this range and these variables."""
    interval = group_interval(from_ms, to_ms, max_data_points, min_interval)
    builtin = {
        "timeFilter": f"time >= {from_ms}ms and time <= {to_ms}ms",
        "__interval_ms": str(interval),
        "__interval": format_interval(interval),
        "interval": format_interval(interval),
    }

    def place(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3) or match.group(4)
        if name in builtin:
            return builtin[name]
        selection = variables.get(name)
        if selection is None:
            if name.startswith("tag_") or name in ("measurement", "col"):
                return match.group(0)  # alias patterns, not query variables
            raise BoardError(f"query uses ${name}, which is no variable of the board: {query}")
        if match.group(2) == "csv":
            return _as_csv(selection)
        return _as_regex(selection)

    return _PLACE.sub(place, query)


def selection_of(
    variable: Mapping[str, object], value: str | None, options: Sequence[str]
) -> Selection:
    """The selection of a board variable (a dict of the dashboard JSON): ``value``, or "all"
    when ``value`` is None."""
    multi = bool(variable.get("multi")) or bool(variable.get("includeAll"))
    all_value = str(variable.get("allValue", ""))
    if value is None:
        return Selection((), multi, True, all_value, tuple(options))
    return Selection((value,), multi, False, all_value, tuple(options))
