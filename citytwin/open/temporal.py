"""NGSI-LD temporal queries, answered from the ``sensor_telemetry`` points ingest writes.

    timerel=before|after|between  timeAt=…  endTimeAt=… (between)   RFC 3339 with an offset
    attrs=temperature,pm25        the model's attribute names (default: all of the type)
    lastN=N                       the newest N instances of each attribute
    options=temporalValues        ``{"values": [[value, time], …]}`` instead of instances

At most ``MAX_INSTANCES`` instances per attribute, oldest first. A ``Device`` has no
temporal attributes here: its state over time is not published.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from analytics.kpis.errors import KpiStoreError
from analytics.kpis.influx import KpiInflux, quote_ident, quote_string
from citytwin.open.entities import OBSERVED, EntityRef, ObservedAttribute
from citytwin.open.problems import OpenDataError, ProblemType, bad_parameter
from citytwin.open.query import parse_count

MEASUREMENT = "sensor_telemetry"
MAX_INSTANCES = 1000


class TimeRelation(StrEnum):
    BEFORE = "before"
    AFTER = "after"
    BETWEEN = "between"


@dataclass(slots=True, frozen=True)
class TemporalQuery:
    start: datetime | None
    end: datetime | None
    attributes: tuple[ObservedAttribute, ...]
    last_n: int | None
    temporal_values: bool


def _moment(name: str, text: str | None) -> datetime:
    if text is None:
        raise bad_parameter(name, "is needed with this timerel")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise bad_parameter(name, f"{text!r} is not an RFC 3339 date-time") from None
    if moment.tzinfo is None:
        raise bad_parameter(name, f"{text!r} has no offset (add Z or +07:00)")
    return moment.astimezone(UTC)


def parse_temporal(
    ref: EntityRef,
    *,
    timerel: str | None,
    time_at: str | None,
    end_time_at: str | None,
    attrs: str | None,
    last_n: str | None,
    options: str | None,
) -> TemporalQuery:
    """The temporal query of the parameters; 400 naming the one at fault."""
    start = end = None
    if timerel is not None:
        try:
            relation = TimeRelation(timerel)
        except ValueError:
            raise bad_parameter("timerel", f"{timerel!r} is not before, after or between") from None
        moment = _moment("timeAt", time_at)
        if relation is TimeRelation.BEFORE:
            end = moment
        elif relation is TimeRelation.AFTER:
            start = moment
        else:
            start, end = moment, _moment("endTimeAt", end_time_at)
            if end <= start:
                raise bad_parameter("endTimeAt", f"{end_time_at!r} is not after timeAt {time_at!r}")
    elif time_at is not None or end_time_at is not None:
        raise bad_parameter("timerel", "is needed with timeAt (before, after or between)")
    known = {attribute.name: attribute for attribute in OBSERVED[ref.type]}
    if attrs is None:
        chosen = tuple(known.values())
    else:
        names = [name.strip() for name in attrs.split(",") if name.strip()]
        unknown = [name for name in names if name not in known]
        if unknown or not names:
            raise bad_parameter(
                "attrs",
                f"{', '.join(unknown) or attrs!r} is no temporal attribute of {ref.type};"
                f" it has {', '.join(known) or 'none'}",
            )
        chosen = tuple(known[name] for name in names)
    wanted_n = parse_count("lastN", last_n, 0, MAX_INSTANCES) if last_n is not None else None
    if wanted_n == 0:
        raise bad_parameter("lastN", "must be 1 or more")
    if options not in {None, "temporalValues", "normalized"}:
        raise bad_parameter("options", f"{options!r}: only temporalValues is supported")
    return TemporalQuery(start, end, chosen, wanted_n, options == "temporalValues")


def _iso(epoch_ms: int) -> str:
    return (
        datetime.fromtimestamp(epoch_ms / 1000, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


async def temporal_entity(
    client: Callable[[], KpiInflux], ref: EntityRef, query: TemporalQuery
) -> dict[str, Any]:
    """The entity's attribute instances in the query's interval."""
    entity: dict[str, Any] = {"id": ref.id, "type": ref.type.value}
    if not query.attributes:
        return entity
    namespace, _, device = ref.thing_id.partition(":")
    conditions = [f"namespace = {quote_string(namespace)}", f"device = {quote_string(device)}"]
    if query.start is not None:
        conditions.append(f"time >= {round(query.start.timestamp() * 1e9)}")
    if query.end is not None:
        conditions.append(f"time < {round(query.end.timestamp() * 1e9)}")
    order = "DESC" if query.last_n is not None else "ASC"
    limit = query.last_n or MAX_INSTANCES
    try:
        async with client() as influx:
            statements = ";".join(
                f"SELECT {quote_ident(a.influx_field)} FROM {MEASUREMENT}"
                f" WHERE {' AND '.join(conditions)}"
                f" ORDER BY time {order} LIMIT {limit}"
                for a in query.attributes
            )
            found = await influx.query(statements)
    except KpiStoreError as exc:
        raise OpenDataError(
            ProblemType.SERVICE_UNAVAILABLE, f"the sensor history cannot be read: {exc}"
        ) from None
    by_field: dict[str, list[tuple[int, float]]] = {}
    for series in found:
        for row in series.rows():
            for attribute in query.attributes:
                value = row.get(attribute.influx_field)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    by_field.setdefault(attribute.influx_field, []).append((row["time"], value))
    for attribute in query.attributes:
        points = sorted(by_field.get(attribute.influx_field, []))
        values = [(round(v * attribute.scale, 6), _iso(t)) for t, v in points]
        if not values:
            continue
        if query.temporal_values:
            entity[attribute.name] = {
                "type": "Property",
                "unitCode": attribute.unit_code,
                "values": [[value, at] for value, at in values],
            }
        else:
            entity[attribute.name] = [
                {
                    "type": "Property",
                    "value": value,
                    "observedAt": at,
                    "unitCode": attribute.unit_code,
                }
                for value, at in values
            ]
    return entity
