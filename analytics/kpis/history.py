"""A KPI's values over time, as the `kpi` measurement holds them: one point per window of
a scope, stamped with the window's start (see ``analytics.kpis.engine``).

For a chart or the console's history: the whole of the KPI (no breakdown ``part``), each
value with its traffic light against the catalogue's target.
"""

from __future__ import annotations

from dataclasses import dataclass

from analytics.kpis.catalogue import KpiDefinition
from analytics.kpis.engine import MEASUREMENT
from analytics.kpis.influx import KpiInflux, quote_ident, quote_string
from analytics.kpis.scorecard import Light, light_of
from analytics.kpis.windows import Window

MAX_POINTS = 5000


@dataclass(slots=True, frozen=True)
class KpiPoint:
    """The KPI in one window: its start (epoch seconds), value and light."""

    start: float
    value: float
    numerator: float
    denominator: float | None
    light: Light


async def read_history(
    client: KpiInflux,
    definition: KpiDefinition,
    *,
    scope: str,
    window: Window,
    since: float,
    until: float,
    policy: str | None = None,
) -> list[KpiPoint]:
    """The KPI's windows of ``scope`` starting in ``[since, until)``, oldest first (at most
    ``MAX_POINTS``: the newest are kept)."""
    source = f"{quote_ident(policy)}.{MEASUREMENT}" if policy else MEASUREMENT
    conditions = " AND ".join(
        (
            f"kpi = {quote_string(definition.id)}",
            f"scope = {quote_string(scope)}",
            f"window = {quote_string(window.value)}",
            f"time >= {round(since * 1e9)}",
            f"time < {round(until * 1e9)}",
        )
    )
    found = await client.query(
        f"SELECT value, numerator, denominator FROM {source} WHERE {conditions}"
        f" GROUP BY part ORDER BY time DESC LIMIT {MAX_POINTS}"
    )
    points: list[KpiPoint] = []
    for series in found:
        if series.tags.get("part"):
            continue
        for row in series.rows():
            value = float(row["value"])
            points.append(
                KpiPoint(
                    row["time"] / 1000,
                    value,
                    float(row["numerator"] or 0.0),
                    None if row["denominator"] is None else float(row["denominator"]),
                    light_of(definition, value),
                )
            )
    points.sort(key=lambda point: point.start)
    return points
