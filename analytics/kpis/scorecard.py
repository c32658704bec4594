"""The scorecard: each KPI's actual against its target, a traffic light and the trend.

Traffic light, with the KPI's ``tolerance`` (10 % unless the catalogue says otherwise):

- **green**: on the right side of the target (or on it);
- **amber**: on the wrong side by at most ``tolerance`` × |target| — for availability
  (target 95 %, tolerance 5 %) 90.25–95 % is amber;
- **red**: further off;
- **none**: the KPI has no target (a volume such as tickets issued).

A target of 0 for a lower-is-better KPI (escalations, hours above limits) has no amber
band: anything above 0 is red.

Trend: the change against the previous window of the same kind (the hour before, the
day before, …); a change within 1 % of the previous value is *steady*, otherwise
*improving* or *worsening* according to the KPI's direction; *new* when the previous
window has no value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from analytics.kpis.catalogue import CATALOGUE, CATALOGUE_VERSION, Direction, Unit
from analytics.kpis.engine import read_values
from analytics.kpis.influx import KpiInflux
from analytics.kpis.windows import PROVINCE_TZ, Window, previous_start

STEADY_FRACTION = 0.01


class Targeted(Protocol):
    """What a light and a trend are judged by: a KPI of the catalogue, or a sector's
    indicator (``analytics.indicators``)."""

    @property
    def target(self) -> float | None: ...

    @property
    def tolerance(self) -> float: ...

    @property
    def direction(self) -> Direction: ...


class Light(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"
    NONE = "none"


class Trend(StrEnum):
    IMPROVING = "improving"
    WORSENING = "worsening"
    STEADY = "steady"
    NEW = "new"


@dataclass(slots=True, frozen=True)
class ScorecardRow:
    kpi: str
    name_vi: str
    name_en: str
    unit: Unit
    target: float | None
    direction: Direction
    actual: float
    previous: float | None
    change: float | None
    light: Light
    trend: Trend


@dataclass(slots=True, frozen=True)
class Scorecard:
    scope: str
    window: Window
    start: float
    version: str
    rows: tuple[ScorecardRow, ...]

    def row(self, kpi: str) -> ScorecardRow:
        for row in self.rows:
            if row.kpi == kpi:
                return row
        raise KeyError(f"no {kpi!r} on the scorecard of {self.scope} ({self.window})")


def light_of(definition: Targeted, actual: float) -> Light:
    """The traffic light of ``actual`` against the KPI's target (see the module)."""
    target = definition.target
    if target is None:
        return Light.NONE
    band = definition.tolerance * abs(target)
    off = target - actual if definition.direction is Direction.HIGHER else actual - target
    if off <= 0:
        return Light.GREEN
    if off <= band:
        return Light.AMBER
    return Light.RED


def trend_of(definition: Targeted, actual: float, previous: float | None) -> Trend:
    if previous is None:
        return Trend.NEW
    change = actual - previous
    if abs(change) <= STEADY_FRACTION * abs(previous) or change == 0:
        return Trend.STEADY
    better = change > 0 if definition.direction is Direction.HIGHER else change < 0
    return Trend.IMPROVING if better else Trend.WORSENING


def build_scorecard(
    scope: str,
    window: Window,
    start: float,
    current: Mapping[str, float],
    previous: Mapping[str, float],
) -> Scorecard:
    """The scorecard of ``scope`` from KPI values (by id) of a window and the one before;
    KPIs without a current value are left out, in catalogue order."""
    rows: list[ScorecardRow] = []
    for definition in CATALOGUE:
        actual = current.get(definition.id)
        if actual is None:
            continue
        before = previous.get(definition.id)
        rows.append(
            ScorecardRow(
                definition.id,
                definition.name_vi,
                definition.name_en,
                definition.unit,
                definition.target,
                definition.direction,
                actual,
                before,
                None if before is None else actual - before,
                light_of(definition, actual),
                trend_of(definition, actual, before),
            )
        )
    return Scorecard(scope, window, start, CATALOGUE_VERSION, tuple(rows))


async def load_scorecard(
    client: KpiInflux, scope: str, window: Window, start: float, *, policy: str | None = None
) -> Scorecard:
    """The scorecard of ``scope`` for the window starting at ``start``, from `kpi` points."""
    current = await read_values(client, window=window, start=start, scope=scope, policy=policy)
    before = await read_values(
        client,
        window=window,
        start=previous_start(start, window, PROVINCE_TZ),
        scope=scope,
        policy=policy,
    )
    return build_scorecard(
        scope,
        window,
        start,
        {v.kpi: v.value for v in current if not v.part},
        {v.kpi: v.value for v in before if not v.part},
    )
