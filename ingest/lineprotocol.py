"""InfluxDB line protocol, written by hand for the hot path.

    measurement,tag=value,... field=value,... timestamp_ns

Escaping follows the InfluxDB 1.x reference: commas and spaces in measurements; commas,
``=`` and spaces in tag keys and values; ``"`` and ``\\`` inside string field values.
Integers carry the ``i`` suffix, booleans are ``true``/``false``, floats use ``repr``.
Field keys here are always identifiers from the device contract, so they need no escaping.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

FieldValue = bool | int | float | str

_TAG_ESCAPES = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ ", "\n": " ", "\r": " "})
_MEASUREMENT_ESCAPES = str.maketrans({",": r"\,", " ": r"\ ", "\n": " ", "\r": " "})


def escape_tag(value: str) -> str:
    """A tag key or value, escaped (line breaks, which no version accepts, become spaces)."""
    return value.translate(_TAG_ESCAPES)


def escape_measurement(value: str) -> str:
    """A measurement name, escaped."""
    return value.translate(_MEASUREMENT_ESCAPES)


def format_field(value: FieldValue) -> str | None:
    """One field value in line protocol, or None when InfluxDB cannot store it (NaN/Inf)."""
    # exact types first: this runs for every field of every point
    kind = type(value)
    if type(value) is float:
        return repr(value) if math.isfinite(value) else None
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return f"{value}i"
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    # subclasses of int and float (exact types above are the hot path)
    if isinstance(value, int):
        return f"{value}i"
    return repr(value) if math.isfinite(value) else None


def series_key(measurement: str, tags: Mapping[str, str]) -> str:
    """``measurement,tag=value,…`` with tags sorted by key (InfluxDB's preferred order)."""
    parts = [escape_measurement(measurement)]
    for key in sorted(tags):
        value = tags[key]
        if value:  # InfluxDB refuses empty tag values
            parts.append(f"{escape_tag(key)}={escape_tag(value)}")
    return ",".join(parts)


def encode_line(series: str, fields: Iterable[tuple[str, FieldValue]], time_ns: int) -> str | None:
    """A whole line from a precomputed series key; None when no field is storable."""
    encoded = [
        f"{key}={text}" for key, value in fields if (text := format_field(value)) is not None
    ]
    if not encoded:
        return None
    return f"{series} {','.join(encoded)} {time_ns}"
