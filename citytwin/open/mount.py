"""The open API put together: every route behind the quota, every refusal as ProblemDetails."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, FastAPI

from analytics.indicators.store import IndicatorStore
from citytwin.api.kpis import KpiSource
from citytwin.open.ngsi_routes import Answers, ngsi_router
from citytwin.open.open_routes import open_router
from citytwin.open.problems import OpenDataError, on_open_data_error
from citytwin.open.quota import Caller, Quota
from citytwin.open.sensors import SensorSource, Sites
from citytwin.open.settings import OpenDataSettings


def whoami_router(quota: Quota) -> APIRouter:
    """The trivial route: who the caller is to the quota (the benchmarks' baseline)."""
    router = APIRouter(prefix="/open", tags=["open data"])
    counted = Depends(quota)

    @router.get("/whoami", summary="The caller's access and quota")
    async def whoami(caller: Caller = counted) -> dict[str, str | None]:
        return {"access": caller.access, "key": caller.name, "rate": caller.rate}

    return router


def install_open_data(
    app: FastAPI,
    settings: OpenDataSettings,
    sensors: SensorSource,
    sites: Callable[[], Sites],
    kpis: KpiSource,
    indicators: IndicatorStore,
) -> None:
    """Mount /ngsi-ld/v1/… and /open/… on ``app``."""
    quota = Quota(settings)
    guarded = [Depends(quota)]
    public_url = str(settings.public_url) if settings.public_url else None
    app.add_exception_handler(OpenDataError, on_open_data_error)
    app.include_router(ngsi_router(sensors, kpis.client, Answers(public_url)), dependencies=guarded)
    app.include_router(open_router(settings, sites, kpis, indicators), dependencies=guarded)
    app.include_router(whoami_router(quota))
