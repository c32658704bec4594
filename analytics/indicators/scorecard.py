"""Indicators on the scorecard: each indicator's newest period against its target and the
period before, judged by the KPIs' own light and trend rules (`analytics.kpis.scorecard`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from analytics.indicators.catalogue import IndicatorCatalogue
from analytics.indicators.periods import Period, parse_period, previous_label
from analytics.indicators.store import StoredFigure
from analytics.kpis.catalogue import Direction
from analytics.kpis.scorecard import Light, Trend, light_of, trend_of


@dataclass(slots=True, frozen=True)
class IndicatorRow:
    code: str
    name_vi: str
    name_en: str
    unit: str
    sector: str
    period: Period
    label: str
    target: float | None
    direction: Direction
    actual: float
    revision: int
    previous: float | None
    change: float | None
    light: Light
    trend: Trend


def indicator_rows(
    catalogue: IndicatorCatalogue, newest: Mapping[str, list[StoredFigure]]
) -> list[IndicatorRow]:
    """One row per indicator with a figure, in catalogue order; the trend compares with
    the period just before only (a figure two quarters old is no trend)."""
    rows = []
    for definition in catalogue.indicators:
        figures = newest.get(definition.code)
        if not figures:
            continue
        current = figures[0]
        span = parse_period(definition.period, current.label)
        before = next(
            (f.value for f in figures[1:] if f.label == previous_label(definition.period, span)),
            None,
        )
        rows.append(
            IndicatorRow(
                definition.code,
                definition.name_vi,
                definition.name_en,
                definition.unit,
                definition.sector,
                definition.period,
                current.label,
                definition.target,
                definition.direction,
                current.value,
                current.revision,
                before,
                None if before is None else current.value - before,
                light_of(definition, current.value),
                trend_of(definition, current.value, before),
            )
        )
    return rows
