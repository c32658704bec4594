"""Sector indicators over HTTP: the catalogue, uploads of figures, and what is in force.

    GET  /api/indicators                          the catalogue                     viewer
    POST /api/indicators/figures[?on_error=keep]  a sector's figures, JSON or CSV  operator
    GET  /api/indicators/scorecard?scope=…        newest period of each, lights     viewer
    GET  /api/indicators/{code}/figures           one indicator's periods           viewer
    GET  /api/indicators/{code}/revisions?period= every report of one period        viewer

An upload is checked row by row. With ``on_error=reject`` (the default) one bad row refuses
the whole file (422, every problem listed with its line and field, nothing stored); with
``on_error=keep`` the good rows are stored and the bad ones listed in the 200 answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, Field

from analytics.indicators.catalogue import IndicatorCatalogue, IndicatorDefinition
from analytics.indicators.figures import (
    SCOPE_PATTERN,
    RowProblem,
    UploadFormatError,
    check_rows,
    read_csv,
    read_json,
)
from analytics.indicators.periods import Period, parse_period
from analytics.indicators.scorecard import indicator_rows
from analytics.indicators.store import IndicatorStore
from analytics.kpis.catalogue import Direction
from analytics.kpis.errors import KpiStoreError
from analytics.kpis.scorecard import Light, Trend
from analytics.kpis.windows import PROVINCE_TZ
from citytwin.api.access import Callers
from citytwin.api.errors import ApiRefusalError, refusals, where
from citytwin.auth import Principal
from twins.http_body import BodyTooLargeError, read_body

IndicatorScope = Annotated[
    str, Query(pattern=SCOPE_PATTERN, description="province or district:NAME")
]
MAX_SPAN = timedelta(days=366 * 20)


class OnError(StrEnum):
    REJECT = "reject"
    KEEP = "keep"


class IndicatorBody(BaseModel):
    code: str
    name_vi: str
    name_en: str
    unit: str
    period: Period
    sector: str
    target: float | None
    direction: Direction
    public: bool


class CatalogueBody(BaseModel):
    version: str
    indicators: list[IndicatorBody]


class ProblemBody(BaseModel):
    line: int = Field(description="the CSV line (the header is line 1), or the JSON row from 1")
    field: str
    message: str


class UploadBody(BaseModel):
    catalogue: str = Field(description="the catalogue version the rows were checked against")
    received: int
    created: int = Field(description="figures for periods not reported before")
    revised: int = Field(description="figures that replace an earlier value (revision kept)")
    unchanged: int = Field(description="figures sent again with the same value")
    problems: list[ProblemBody] = Field(description="rows not stored (on_error=keep)")


class FigureBody(BaseModel):
    period: str
    start: datetime
    value: float
    revision: int
    submitted_by: str
    submitted_at: datetime
    note: str


class FiguresBody(BaseModel):
    code: str
    scope: str
    unit: str
    figures: list[FigureBody]


class RevisionBody(BaseModel):
    at: datetime
    value: float
    revision: int
    previous: float | None
    submitted_by: str
    note: str


class RevisionsBody(BaseModel):
    code: str
    scope: str
    period: str
    revisions: list[RevisionBody]


class IndicatorRowBody(BaseModel):
    code: str
    name_vi: str
    name_en: str
    unit: str
    sector: str
    period: str
    target: float | None
    direction: Direction
    actual: float
    revision: int
    previous: float | None = Field(description="the value of the period before")
    change: float | None
    light: Light
    trend: Trend


class IndicatorScorecardBody(BaseModel):
    scope: str
    version: str
    rows: list[IndicatorRowBody]


@contextmanager
def influx_answers() -> Iterator[None]:
    """InfluxDB out of reach is the API's 503, naming it."""
    try:
        yield
    except KpiStoreError as exc:
        raise ApiRefusalError(503, "unavailable", str(exc)) from None


def _local(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, PROVINCE_TZ)


def _problems(found: list[RowProblem]) -> list[dict[str, Any]]:
    return [{"line": p.line, "field": p.field, "message": p.message} for p in found]


def indicators_router(
    store: IndicatorStore,
    callers: Callers,
    max_upload_bytes: int,
    clock: Callable[[], float] = time.time,
) -> APIRouter:
    router = APIRouter(prefix="/api/indicators", tags=["indicators"])
    catalogue: IndicatorCatalogue = store.catalogue

    def definition_of(code: str) -> IndicatorDefinition:
        definition = catalogue.get(code)
        if definition is None:
            raise ApiRefusalError(
                404,
                "not_found",
                f"no indicator {code!r} in catalogue {catalogue.version}"
                " (GET /api/indicators lists them)",
            )
        return definition

    @router.get("", summary="The indicator catalogue", response_model=CatalogueBody)
    async def list_catalogue(_caller: Principal = callers.viewer) -> CatalogueBody:
        return CatalogueBody(
            version=catalogue.version,
            indicators=[
                IndicatorBody(
                    code=d.code,
                    name_vi=d.name_vi,
                    name_en=d.name_en,
                    unit=d.unit,
                    period=d.period,
                    sector=d.sector,
                    target=d.target,
                    direction=d.direction,
                    public=d.public,
                )
                for d in catalogue.indicators
            ],
        )

    @router.post(
        "/figures",
        summary="Upload a sector's figures (JSON or CSV), checked row by row",
        response_model=UploadBody,
        responses=refusals(401, 403, 413, 415, 422, 503),
        openapi_extra={
            "requestBody": {
                "content": {
                    "application/json": {"schema": {"type": "object"}},
                    "text/csv": {"schema": {"type": "string"}},
                },
                "required": True,
            }
        },
    )
    async def upload(
        request: Request,
        caller: Principal = callers.operator,
        on_error: Annotated[
            OnError, Query(description="reject: one bad row refuses the file; keep: store the rest")
        ] = OnError.REJECT,
    ) -> Any:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media not in {"application/json", "text/csv"}:
            raise ApiRefusalError(
                415,
                "unsupported_media_type",
                f"Content-Type {media or '(none)'!r}: send application/json or text/csv",
            )
        try:
            body = await read_body(request, max_upload_bytes)
        except BodyTooLargeError as exc:
            raise ApiRefusalError(413, "too_large", str(exc)) from None
        try:
            rows = read_json(body) if media == "application/json" else read_csv(body)
        except UploadFormatError as exc:
            raise ApiRefusalError(422, "invalid", str(exc), field="body") from None
        checked = check_rows(rows, catalogue, clock)
        if checked.problems and (on_error is OnError.REJECT or not checked.figures):
            first = checked.problems[0]
            kept = "no row was good" if on_error is OnError.KEEP else "the file is refused"
            return JSONResponse(
                {
                    "error": "invalid",
                    "message": f"{len(checked.problems)} problem(s), {kept} and nothing is"
                    f" stored; first: {first}",
                    "where": where(request),
                    "field": first.field,
                    "problems": _problems(checked.problems),
                },
                status_code=422,
            )
        with influx_answers():
            outcome = await store.submit(checked.figures, caller.actor)
        return UploadBody(
            catalogue=catalogue.version,
            received=len(rows),
            created=outcome.created,
            revised=outcome.revised,
            unchanged=outcome.unchanged,
            problems=[
                ProblemBody(line=p.line, field=p.field, message=p.message) for p in checked.problems
            ],
        )

    @router.get(
        "/scorecard",
        summary="Each indicator's newest period against its target and the period before",
        response_model=IndicatorScorecardBody,
        responses=refusals(401, 422, 503),
    )
    async def scorecard(
        _caller: Principal = callers.viewer, scope: IndicatorScope = "province"
    ) -> IndicatorScorecardBody:
        with influx_answers():
            newest = await store.latest(scope)
        return IndicatorScorecardBody(
            scope=scope,
            version=catalogue.version,
            rows=[
                IndicatorRowBody(
                    code=row.code,
                    name_vi=row.name_vi,
                    name_en=row.name_en,
                    unit=row.unit,
                    sector=row.sector,
                    period=row.label,
                    target=row.target,
                    direction=row.direction,
                    actual=row.actual,
                    revision=row.revision,
                    previous=row.previous,
                    change=row.change,
                    light=row.light,
                    trend=row.trend,
                )
                for row in indicator_rows(catalogue, newest)
            ],
        )

    @router.get(
        "/{code}/figures",
        summary="One indicator's figures in force over a span of periods",
        response_model=FiguresBody,
        responses=refusals(401, 404, 422, 503),
    )
    async def figures(
        code: Annotated[str, Path(max_length=64)],
        _caller: Principal = callers.viewer,
        scope: IndicatorScope = "province",
        since: Annotated[
            AwareDatetime | None,
            Query(description="periods starting at or after (default: 5 years before until)"),
        ] = None,
        until: Annotated[
            AwareDatetime | None, Query(description="periods starting before (default: now)")
        ] = None,
    ) -> FiguresBody:
        definition = definition_of(code)
        end = until or datetime.fromtimestamp(clock(), UTC)
        begin = since or end - timedelta(days=5 * 366)
        if end <= begin or end - begin > MAX_SPAN:
            raise ApiRefusalError(
                422,
                "invalid",
                f"since {begin.isoformat()} to until {end.isoformat()}: until must be after"
                f" since, and at most {MAX_SPAN.days} days later",
                field="until",
            )
        with influx_answers():
            found = await store.figures(definition, scope, begin.timestamp(), end.timestamp())
        return FiguresBody(
            code=definition.code,
            scope=scope,
            unit=definition.unit,
            figures=[
                FigureBody(
                    period=f.label,
                    start=_local(f.start),
                    value=f.value,
                    revision=f.revision,
                    submitted_by=f.submitted_by,
                    submitted_at=_local(f.submitted_at),
                    note=f.note,
                )
                for f in found
            ],
        )

    @router.get(
        "/{code}/revisions",
        summary="Every report of one period's figure, oldest first",
        response_model=RevisionsBody,
        responses=refusals(401, 404, 422, 503),
    )
    async def revisions(
        code: Annotated[str, Path(max_length=64)],
        period: Annotated[str, Query(max_length=16, description="2026-11, 2026-Q3 or 2026")],
        _caller: Principal = callers.viewer,
        scope: IndicatorScope = "province",
    ) -> RevisionsBody:
        definition = definition_of(code)
        try:
            span = parse_period(definition.period, period)
        except ValueError as exc:
            raise ApiRefusalError(
                422, "invalid", f"{code} is reported by {exc}", field="period"
            ) from None
        with influx_answers():
            found = await store.revisions(definition, scope, span.label)
        return RevisionsBody(
            code=definition.code,
            scope=scope,
            period=span.label,
            revisions=[
                RevisionBody(
                    at=_local(r.at),
                    value=r.value,
                    revision=r.revision,
                    previous=r.previous,
                    submitted_by=r.submitted_by,
                    note=r.note,
                )
                for r in found
            ],
        )

    return router
