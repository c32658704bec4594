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
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


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
    encoded = []
    for key, value in fields:
        text = format_field(value)
        if text is not None:
            encoded.append(f"{key}={text}")
    if not encoded:
        return None
    return f"{series} {','.join(encoded)} {time_ns}"
