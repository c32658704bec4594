"""The citytwin HTTP app: one ASGI application assembled from every part's routes.

/api/2/...          the Ditto-compatible twin API (embedded twin service)
/ingest/...         HTTP ingest for other government systems
/, /wall            the operator console: overview, camera wall (tokens for the hub)
/alerts, /kpis      the console's alert inbox and KPI scorecard
/api/alerts, /api/kpis, /api/maintenance   alerts and KPIs for people and other systems
/api/indicators     sectors' indicator figures: catalogue, uploads, revisions
/ngsi-ld/v1/..., /open/...   open data for anyone, read-only, rate-limited (citytwin.open)
/api/reports        citizen reports from the citizen app and e-form systems
/health             liveness and the state of what this process depends on
/metrics            Prometheus metrics
/docs, /openapi.json  the API description (served offline)
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import requests
from fastapi import APIRouter, FastAPI
from fastapi_offline import FastAPIOffline
from prometheus_client import make_asgi_app

from analytics.alerts.evidence import DiskEvidenceStorage
from analytics.alerts.lifecycle import utc_now
from analytics.indicators.catalogue import IndicatorCatalogue, load_catalogue
from analytics.indicators.store import IndicatorStore
from analytics.kpis.influx import KpiInflux
from citytwin.accounts import ServiceRole
from citytwin.api.access import AlertAccess, Callers
from citytwin.api.alerts import alerts_router
from citytwin.api.errors import install_handlers
from citytwin.api.indicators import indicators_router
from citytwin.api.kpis import KpiSource, kpis_router
from citytwin.api.live import FeedTiming
from citytwin.api.reports import SubmissionReader, reports_router
from citytwin.auth import Authenticator
from citytwin.console.alert_routes import console_alerts_router
from citytwin.console.routes import console_router
from citytwin.console.wall_routes import WallConfig, wall_router
from citytwin.open.influx import SharedKpiInflux
from citytwin.open.mount import install_open_data
from citytwin.open.sensors import RegistrySites, SensorSource
from citytwin.paths import StatePaths
from citytwin.report_desk import ReportDesk
from citytwin.settings import CitytwinSettings
from citytwin.stack import (
    Secrets,
    influx_username,
    mqtt_account,
    registry_path,
    twin_client,
    video_public_url,
)
from citytwin.twin_provisioning import TwinAccess, ensure_twins, provisioned_namespaces
from ingest.http import create_ingest_router
from ingest.reports.boundary import ProvinceBoundary
from ingest.reports.storage import DiskPhotoStorage
from twins.backoff import Backoff
from twins.client import DittoClient
from twins.errors import DittoError
from twins.registry import Registry
from video.tokens import TokenSigner

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TWIN_API_PREFIX = "/api/2"


class PrefixDispatcher:
    """Send requests under ``prefix`` to ``inner`` unchanged (paths keep the prefix).

    The twin app speaks Ditto's paths itself (``/api/2/things/…``) so that its links and
    ``Location`` headers are the same as a real Ditto's; a Starlette ``Mount`` would strip
    the prefix.
    """

    def __init__(self, prefix: str, inner: ASGIApp, outer: ASGIApp) -> None:
        self.prefix = prefix
        self.inner = inner
        self.outer = outer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] in {"http", "websocket"} and (
            path == self.prefix or path.startswith(self.prefix + "/")
        ):
            await self.inner(scope, receive, send)
        else:
            await self.outer(scope, receive, send)


def create_app(settings: CitytwinSettings, secrets: Secrets) -> ASGIApp:
    """Assemble the HTTP app for ``settings``; resources open and close with its lifespan."""
    paths = StatePaths(settings.state_dir)
    resources = AsyncExitStack()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with resources, asyncio.TaskGroup() as group:
            if settings.registry is not None:
                twins_task = group.create_task(
                    keep_twins_provisioned(settings, secrets), name="provision-twins"
                )
            yield
            if settings.registry is not None:
                twins_task.cancel()

    app = FastAPIOffline(
        title="citytwin",
        summary="Provincial monitoring and operations centre: twins, ingest, alerts, KPIs.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.mount("/metrics", make_asgi_app())

    @app.get("/health", tags=["platform"])
    async def health() -> dict[str, object]:
        """Liveness of this process and the parts it serves."""
        return {"status": "ok", "twins": "embedded" if settings.twins.embedded else "ditto"}

    def operator_client(username: str, password: str) -> DittoClient:
        return twin_client(settings, password, username=username)

    app.include_router(console_router(operator_client, settings.language))
    _mount_wall(app, settings, secrets, operator_client)
    catalogue = load_catalogue(settings.indicators.catalogue)  # the API's and open data's
    _mount_alerts_and_kpis(app, settings, secrets, resources, catalogue)
    _mount_ingest(app, settings, secrets)
    if settings.open_data.enabled:
        _mount_open_data(app, settings, secrets, resources, catalogue)
    if not settings.twins.embedded:
        return app
    twin_app = _embedded_twin_app(settings, paths, secrets, resources)
    return PrefixDispatcher(TWIN_API_PREFIX, twin_app, app)


async def keep_twins_provisioned(settings: CitytwinSettings, secrets: Secrets) -> None:
    """Create the registry's twins once the twin API answers (it may start after us)."""
    assert settings.registry is not None
    registry = Registry.load(settings.registry)
    backoff = Backoff(first=0.5, maximum=30.0)
    while True:
        try:
            with twin_client(settings, secrets.twins) as client:
                await asyncio.to_thread(
                    ensure_twins,
                    client,
                    registry,
                    TwinAccess.from_settings(settings.twins),
                )
            return
        except (DittoError, requests.ConnectionError) as exc:
            delay = backoff.next_delay()
            logger.warning("twins not provisioned yet (%s); retrying in %.1f s", exc, delay)
            await asyncio.sleep(delay)


def _embedded_twin_app(
    settings: CitytwinSettings, paths: StatePaths, secrets: Secrets, resources: AsyncExitStack
) -> ASGIApp:
    from twins.service.api import create_twin_app
    from twins.service.store import TwinStore

    paths.twins_db.parent.mkdir(parents=True, exist_ok=True)
    store = TwinStore.open(paths.twins_db)
    resources.callback(store.close)
    logger.info("embedded twin service on %s", paths.twins_db)
    twin_app = create_twin_app(
        store, settings.twins, secrets.twins, provisioned_namespaces(registry_path(settings))
    )
    # routed to, not run as the main app, so its own lifespan does not run: end open
    # change streams here or uvicorn waits for them at shutdown
    resources.callback(twin_app.state.twin_service.hub.close)
    dispatched: ASGIApp = twin_app
    return dispatched


def _mount_wall(
    app: FastAPI,
    settings: CitytwinSettings,
    secrets: Secrets,
    operator_client: Callable[[str, str], DittoClient],
) -> None:
    """The camera wall: the console signs viewer tokens the hub (another origin) accepts."""

    def service_client() -> DittoClient:
        return twin_client(settings, secrets.twins)

    config = WallConfig(
        hub_url=video_public_url(settings),
        token_seconds=settings.video.wall_token_seconds,
        kiosk_hours=settings.video.kiosk_token_hours,
        default_language=settings.language,
        shards=settings.video.shards,
    )
    signer = TokenSigner(secrets.video_token_key)
    app.include_router(wall_router(operator_client, service_client, signer, config, time.time))


def _mount_alerts_and_kpis(
    app: FastAPI,
    settings: CitytwinSettings,
    secrets: Secrets,
    resources: AsyncExitStack,
    catalogue: IndicatorCatalogue,
) -> None:
    """The alerts and KPI API and the console's pages on them: people log in with their
    console user, other systems with a bearer token (``citytwin.auth``)."""
    state_dir = settings.state_dir
    access = AlertAccess(
        settings.alerts,
        settings.alerts.store_url(state_dir),
        DiskEvidenceStorage(settings.alerts.evidence_root(state_dir)),
    )
    resources.callback(access.close)
    authenticator = Authenticator.from_settings(settings, secrets.twins)
    callers = Callers(authenticator)
    kpi_client = influx_reader(settings, secrets)
    timing = FeedTiming(settings.api.live_poll_seconds, settings.api.heartbeat_seconds)
    install_handlers(app)
    app.include_router(alerts_router(access, callers, timing))
    app.include_router(kpis_router(KpiSource(kpi_client, settings.kpis.retention_policy), callers))
    indicators = settings.indicators
    store = IndicatorStore(
        kpi_client,
        catalogue,
        policy=indicators.retention_policy,
        clock=time.time,
    )
    app.include_router(indicators_router(store, callers, indicators.max_upload_bytes))
    app.include_router(_reports_router(settings, secrets, access, authenticator))
    app.include_router(console_alerts_router(authenticator, settings.language))


def influx_reader(settings: CitytwinSettings, secrets: Secrets) -> Callable[[], KpiInflux]:
    """A factory of InfluxDB clients on citytwin's database, for the routes that read it."""
    influx = settings.influx

    def client() -> KpiInflux:
        return KpiInflux(
            str(influx.url),
            influx.database,
            username=influx_username(settings),
            password=secrets.influx,
            token=influx.token.get_secret_value(),
            timeout=30.0,
        )

    return client


def _mount_open_data(
    app: FastAPI,
    settings: CitytwinSettings,
    secrets: Secrets,
    resources: AsyncExitStack,
    catalogue: IndicatorCatalogue,
) -> None:
    """The public read-only API: sensors as NGSI-LD, KPIs as open data (`citytwin.open`)."""

    def service_client() -> DittoClient:
        return twin_client(settings, secrets.twins)

    sites = RegistrySites(registry_path(settings))
    sensors = SensorSource(service_client, sites, settings.open_data.cache_seconds)
    influx = settings.influx
    shared = SharedKpiInflux(
        str(influx.url),
        influx.database,
        username=influx_username(settings),
        password=secrets.influx,
        token=influx.token.get_secret_value(),
        timeout=30.0,
    )
    resources.push_async_callback(shared.close)
    kpis = KpiSource(lambda: shared, settings.kpis.retention_policy)
    indicators = IndicatorStore(
        lambda: shared,
        catalogue,
        policy=settings.indicators.retention_policy,
        clock=time.time,
    )
    install_open_data(app, settings.open_data, sensors, sites, kpis, indicators)


def _reports_router(
    settings: CitytwinSettings,
    secrets: Secrets,
    access: AlertAccess,
    authenticator: Authenticator,
) -> APIRouter:
    """Citizen reports: twins through citytwin's account, photos under the state dir."""
    reports = settings.reports

    def service_client() -> DittoClient:
        return twin_client(settings, secrets.twins)

    desk = ReportDesk(
        reports,
        service_client,
        access,
        DiskPhotoStorage(StatePaths(settings.state_dir).report_photos),
        clock=utc_now,
    )
    reader = SubmissionReader(reports, ProvinceBoundary.load(reports.boundary))
    return reports_router(desk, reader, authenticator)


def _mount_ingest(app: FastAPI, settings: CitytwinSettings, secrets: Secrets) -> None:
    """HTTP ingest for other systems: validated here, then through the MQTT pipeline."""
    username, password = secrets.mqtt_login(mqtt_account(settings, ServiceRole.HTTP))
    app.include_router(
        create_ingest_router(
            settings=settings.ingest,
            registry_path=registry_path(settings),
            mqtt_host=settings.mqtt.host,
            mqtt_port=settings.mqtt.port,
            mqtt_username=username,
            mqtt_password=password,
        )
    )
