"""The KPI API: the scorecard of a scope and window, and one KPI's history, read from the
`kpi` measurement the KPI engine writes.

    GET /api/kpis                      the catalogue: ids, names, units, targets   viewer
    GET /api/kpis/scorecard            target vs actual, light, trend              viewer
    GET /api/kpis/{kpi}/history        one KPI's windows over a period             viewer

A scope is ``province``, ``sector:NAME``, ``site:NAMESPACE`` or a device's
``counter|room|camera|sensor:NAMESPACE:NAME`` (``docs/kpis.md``); a window is ``15m``,
``hour``, ``day``, ``week`` or ``month`` in the province's calendar.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime, BaseModel, Field

from analytics.kpis.catalogue import BY_ID, CATALOGUE, CATALOGUE_VERSION, Direction, Unit
from analytics.kpis.errors import KpiStoreError
from analytics.kpis.history import read_history
from analytics.kpis.influx import KpiInflux
from analytics.kpis.scorecard import Light, Trend, load_scorecard
from analytics.kpis.windows import PROVINCE_TZ, Window, window_end, window_start
from citytwin.api.access import Callers
from citytwin.api.errors import ApiRefusalError, refusals
from citytwin.auth import Principal

SCOPE_PATTERN = r"^(province|(sector|site|counter|room|camera|sensor):[^\s,'\"\\]{1,200})$"
Scope = Annotated[
    str,
    Query(
        pattern=SCOPE_PATTERN,
        description="province, sector:NAME, site:NAMESPACE or counter|room|camera|sensor:"
        "NAMESPACE:NAME",
    ),
]
MAX_HISTORY = timedelta(days=400)


@dataclass(slots=True, frozen=True)
class KpiSource:
    """Where the `kpi` points are: a client factory and the retention policy they are in."""

    client: Callable[[], KpiInflux]
    policy: str | None = None


class KpiBody(BaseModel):
    id: str
    name_vi: str
    name_en: str
    unit: Unit
    target: float | None
    direction: Direction
    tolerance: float
    formula: str


class ScorecardRowBody(BaseModel):
    kpi: str
    name_vi: str
    name_en: str
    unit: Unit
    target: float | None
    direction: Direction
    actual: float
    previous: float | None = Field(description="the value in the window before")
    change: float | None = Field(description="actual − previous")
    light: Light
    trend: Trend


class ScorecardBody(BaseModel):
    scope: str
    window: Window
    start: datetime = Field(description="the window's start (province time)")
    end: datetime
    version: str = Field(description="the catalogue's version")
    rows: list[ScorecardRowBody]


class KpiPointBody(BaseModel):
    start: datetime
    value: float
    numerator: float
    denominator: float | None
    light: Light


class KpiHistoryBody(BaseModel):
    kpi: str
    scope: str
    window: Window
    unit: Unit
    target: float | None
    direction: Direction
    points: list[KpiPointBody]


def _local(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, PROVINCE_TZ)


def kpis_router(
    source: KpiSource, callers: Callers, clock: Callable[[], float] = time.time
) -> APIRouter:
    router = APIRouter(prefix="/api/kpis", tags=["kpis"])
    viewer = callers.viewer

    @router.get("", summary="The KPI catalogue", response_model=list[KpiBody])
    async def catalogue(_caller: Principal = viewer) -> list[KpiBody]:
        return [
            KpiBody(
                id=d.id,
                name_vi=d.name_vi,
                name_en=d.name_en,
                unit=d.unit,
                target=d.target,
                direction=d.direction,
                tolerance=d.tolerance,
                formula=d.formula,
            )
            for d in CATALOGUE
        ]

    @router.get(
        "/scorecard",
        summary="Scorecard of a scope: target vs actual, traffic light, trend",
        response_model=ScorecardBody,
        responses=refusals(401, 422, 503),
    )
    async def scorecard(
        _caller: Principal = viewer,
        scope: Scope = "province",
        window: Annotated[Window, Query()] = Window.DAY,
        at: Annotated[
            AwareDatetime | None, Query(description="a moment in the window (default: now)")
        ] = None,
    ) -> ScorecardBody:
        """The KPIs of the window holding ``at`` against their targets, and the trend
        against the window before; KPIs with no value in the window are left out."""
        moment = at.timestamp() if at is not None else clock()
        start = window_start(moment, window, PROVINCE_TZ)
        try:
            async with source.client() as client:
                card = await load_scorecard(client, scope, window, start, policy=source.policy)
        except KpiStoreError as exc:
            raise ApiRefusalError(503, "unavailable", str(exc)) from None
        return ScorecardBody(
            scope=card.scope,
            window=card.window,
            start=_local(card.start),
            end=_local(window_end(card.start, window, PROVINCE_TZ)),
            version=card.version,
            rows=[
                ScorecardRowBody(
                    kpi=row.kpi,
                    name_vi=row.name_vi,
                    name_en=row.name_en,
                    unit=row.unit,
                    target=row.target,
                    direction=row.direction,
                    actual=row.actual,
                    previous=row.previous,
                    change=row.change,
                    light=row.light,
                    trend=row.trend,
                )
                for row in card.rows
            ],
        )

    @router.get(
        "/{kpi}/history",
        summary="One KPI's values over a period",
        response_model=KpiHistoryBody,
        responses=refusals(401, 404, 422, 503),
    )
    async def history(
        kpi: Annotated[str, Path(description="a KPI id of the catalogue", max_length=64)],
        _caller: Principal = viewer,
        scope: Scope = "province",
        window: Annotated[Window, Query()] = Window.DAY,
        since: Annotated[
            AwareDatetime | None,
            Query(description="windows starting at or after (default: 30 days before until)"),
        ] = None,
        until: Annotated[
            AwareDatetime | None, Query(description="windows starting before (default: now)")
        ] = None,
    ) -> KpiHistoryBody:
        """At most 5000 windows (the newest), oldest first, each with its light."""
        definition = BY_ID.get(kpi)
        if definition is None:
            raise ApiRefusalError(
                404,
                "not_found",
                f"no KPI {kpi!r} in catalogue {CATALOGUE_VERSION} (GET /api/kpis lists them)",
            )
        end = until or datetime.fromtimestamp(clock(), UTC)
        begin = since or end - timedelta(days=30)
        if end <= begin:
            raise ApiRefusalError(
                422,
                "invalid",
                f"until {end.isoformat()} is not after since {begin.isoformat()}",
                field="until",
            )
        if end - begin > MAX_HISTORY:
            raise ApiRefusalError(
                422,
                "invalid",
                f"since {begin.isoformat()} to until {end.isoformat()} is longer than"
                f" {MAX_HISTORY.days} days",
                field="since",
            )
        try:
            async with source.client() as client:
                points = await read_history(
                    client,
                    definition,
                    scope=scope,
                    window=window,
                    since=begin.timestamp(),
                    until=end.timestamp(),
                    policy=source.policy,
                )
        except KpiStoreError as exc:
            raise ApiRefusalError(503, "unavailable", str(exc)) from None
        return KpiHistoryBody(
            kpi=definition.id,
            scope=scope,
            window=window,
            unit=definition.unit,
            target=definition.target,
            direction=definition.direction,
            points=[
                KpiPointBody(
                    start=_local(point.start),
                    value=point.value,
                    numerator=point.numerator,
                    denominator=point.denominator,
                    light=point.light,
                )
                for point in points
            ],
        )

    return router
