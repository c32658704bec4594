"""The /open routes: KPIs per day and site as JSON and CSV, and their catalogue.

GET /open/kpis/daily.json?since=YYYY-MM-DD&until=…&site=…&kpi=a,b
GET /open/kpis/daily.csv   (the same rows)
GET /open/indicators.json?since=YYYY&until=YYYY&scope=…&code=a,b   public sector indicators
GET /open/indicators.csv   (the same rows)
GET /open/catalog          DCAT-AP, JSON-LD
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from analytics.indicators.figures import SCOPE_RE
from analytics.indicators.store import IndicatorStore
from analytics.kpis.windows import PROVINCE_TZ
from citytwin.api.kpis import KpiSource
from citytwin.open import indicators as open_indicators
from citytwin.open.catalog import catalogue
from citytwin.open.kpis import (
    KpiRow,
    as_csv,
    as_json,
    parse_kpis,
    parse_period,
    published_sites,
    read_rows,
)
from citytwin.open.problems import bad_parameter
from citytwin.open.sensors import Sites
from citytwin.open.settings import OpenDataSettings

Text = Annotated[str | None, Query()]


def open_router(
    settings: OpenDataSettings,
    sites: Callable[[], Sites],
    kpis: KpiSource,
    indicators: IndicatorStore,
    clock: Callable[[], float] = time.time,
) -> APIRouter:
    router = APIRouter(prefix="/open", tags=["open data"])
    licence = str(settings.licence)

    def base(request: Request) -> str:
        return (str(settings.public_url) if settings.public_url else str(request.base_url)).rstrip(
            "/"
        )

    async def rows(
        since: str | None, until: str | None, site: str | None, kpi: str | None
    ) -> list[KpiRow]:
        today = datetime.fromtimestamp(clock(), PROVINCE_TZ).date()
        first, last = parse_period(since, until, today)
        chosen = parse_kpis(kpi)
        published = published_sites(sites(), settings.min_counters_per_site)
        if site is not None:
            if site not in published:
                raise bad_parameter(
                    "site",
                    f"{site!r} is not a published site (published: {', '.join(published)})",
                )
            published = {site: published[site]}
        return await read_rows(kpis, chosen, published, first, last)

    @router.get("/kpis/daily.json", summary="Service KPIs per day and site (JSON)")
    async def daily_json(
        request: Request,
        since: Text = None,
        until: Text = None,
        site: Text = None,
        kpi: Text = None,
    ) -> Response:
        found = await rows(since, until, site, kpi)
        body = {
            "licence": licence,
            "catalogue": f"{base(request)}/open/catalog",
            "rows": as_json(found),
        }
        return Response(orjson.dumps(body), media_type="application/json")

    @router.get("/kpis/daily.csv", summary="Service KPIs per day and site (CSV)")
    async def daily_csv(
        since: Text = None, until: Text = None, site: Text = None, kpi: Text = None
    ) -> Response:
        found = await rows(since, until, site, kpi)
        return Response(
            as_csv(found).encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={"Link": f'<{licence}>; rel="license"'},
        )

    async def indicator_rows(
        since: str | None, until: str | None, scope: str | None, code: str | None
    ) -> list[open_indicators.IndicatorRow]:
        today = datetime.fromtimestamp(clock(), PROVINCE_TZ).date()
        first, last = open_indicators.parse_years(since, until, today)
        chosen = open_indicators.chosen(indicators, code)
        where = scope or "province"
        if not SCOPE_RE.match(where):
            raise bad_parameter("scope", f"{where!r} is not province or district:NAME")
        return await open_indicators.read_rows(indicators, chosen, where, first, last)

    @router.get("/indicators.json", summary="Public sector indicators (JSON)")
    async def indicators_json(
        request: Request,
        since: Text = None,
        until: Text = None,
        scope: Text = None,
        code: Text = None,
    ) -> Response:
        found = await indicator_rows(since, until, scope, code)
        body = {
            "licence": licence,
            "catalogue": f"{base(request)}/open/catalog",
            "version": indicators.catalogue.version,
            "rows": open_indicators.as_json(found),
        }
        return Response(orjson.dumps(body), media_type="application/json")

    @router.get("/indicators.csv", summary="Public sector indicators (CSV)")
    async def indicators_csv(
        since: Text = None, until: Text = None, scope: Text = None, code: Text = None
    ) -> Response:
        found = await indicator_rows(since, until, scope, code)
        return Response(
            open_indicators.as_csv(found).encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={"Link": f'<{licence}>; rel="license"'},
        )

    @router.get("/catalog", summary="The DCAT-AP catalogue of the open data")
    async def catalog(request: Request) -> Response:
        public = [d.code for d in indicators.catalogue.public()]
        body = catalogue(base(request), settings.publisher, licence, public)
        return Response(orjson.dumps(body), media_type="application/ld+json")

    return router
