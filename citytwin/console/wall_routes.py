"""HTTP routes of the camera wall: the page, its camera list with a fresh token, kiosk links.

    GET /wall                 the wall (every site the operator may see; with ``site=NS``
                              one site and no navigation, for a wall screen or an iframe)
    GET /wall/cameras         the same cameras as JSON with a new viewer token (the open
                              page polls it: new cameras appear, removed ones go)
    GET /wall/link?site=NS    a kiosk link: the chrome-less wall with a token in its URL
    GET /wall/wall.js         the page's player code

An operator logs in with their twin user (HTTP basic, as on the overview); a kiosk link's
``token`` replaces the login and is refused once expired or altered.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from fastapi.templating import Jinja2Templates

from citytwin.console.wall import HubRoutes, WallSite, camera_ids, load_wall
from citytwin.i18n import MESSAGES, Language, text
from twins.client import DittoClient
from twins.errors import DittoError, DittoUnauthorizedError
from video.errors import NotAuthenticatedError
from video.settings import HubShard
from video.tokens import TokenSigner

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
WALL_JS = Path(__file__).parent / "static" / "wall.js"
OPTIONAL_BASIC = HTTPBasic(realm="citytwin", auto_error=False)
CHALLENGE = {"WWW-Authenticate": 'Basic realm="citytwin"'}

ClientFactory = Callable[[str, str], DittoClient]
ServiceClient = Callable[[], DittoClient]

WALL_LABELS = (
    "wall_title",
    "no_signal",
    "stream_up",
    "stream_down",
    "stream_unknown",
    "connecting",
    "link_expired",
    "enlarge",
)


@dataclass(slots=True, frozen=True)
class WallConfig:
    """Where the hubs are for browsers, how long the wall's tokens live, how often the open
    page asks for the camera list."""

    hub_url: str
    token_seconds: int
    kiosk_hours: int
    default_language: Language
    shards: Mapping[str, HubShard] = field(default_factory=dict)
    list_seconds: float = 5.0


@dataclass(slots=True, frozen=True)
class WallView:
    """The cameras a request may see and the token that lets its browser play them."""

    sites: list[WallSite]
    token: str
    expires: int
    kiosk: bool


def wall_router(
    client_factory: ClientFactory,
    service_client: ServiceClient,
    signer: TokenSigner,
    config: WallConfig,
    clock: Callable[[], float],
) -> APIRouter:
    """The wall's routes; ``service_client`` reads the cameras a kiosk token lists."""
    router = APIRouter(tags=["console"])
    routes = HubRoutes.of(config.hub_url, config.shards)

    async def view(
        credentials: HTTPBasicCredentials | None,
        token: str | None,
        site: str | None,
        language: Language,
    ) -> WallView:
        if token:
            try:
                grant = signer.verify(token)
            except NotAuthenticatedError as exc:
                raise HTTPException(401, text("link_refused", language, error=exc)) from None

            def read_listed() -> list[WallSite]:
                with service_client() as client:
                    return load_wall(client, routes, site=site, only=frozenset(grant.cams))

            return WallView(await _read(read_listed, language), token, grant.exp, kiosk=True)
        if credentials is None:
            raise HTTPException(401, text("login_failed", language), headers=CHALLENGE)
        user, password = credentials.username, credentials.password

        def read_own() -> list[WallSite]:
            with client_factory(user, password) as client:
                return load_wall(client, routes, site=site)

        sites = await _read(read_own, language)
        lifetime = config.token_seconds
        fresh = signer.sign(user, camera_ids(sites), lifetime)
        return WallView(sites, fresh, int(clock() + lifetime), kiosk=False)

    @router.get("/wall", response_class=HTMLResponse, summary="Camera wall")
    async def wall(
        request: Request,
        credentials: Annotated[HTTPBasicCredentials | None, Depends(OPTIONAL_BASIC)],
        site: Annotated[str | None, Query(description="one site (namespace), no chrome")] = None,
        lang: Annotated[Literal["vi", "en"] | None, Query(description="vi or en")] = None,
        token: Annotated[str | None, Query(description="a kiosk link's token")] = None,
    ) -> HTMLResponse:
        language: Language = lang or config.default_language
        seen = await view(credentials, token, site, language)

        def t(key: str) -> str:
            return text(key, language) if key in MESSAGES else key

        def tv(key: str, **values: object) -> str:
            return text(key, language, **values)

        switch = {"lang": "en" if language == "vi" else "vi"}
        switch |= {"site": site} if site else {}
        switch |= {"token": token} if token else {}
        page = {
            "token": seen.token,
            "expires": seen.expires,
            "now": int(clock()),
            "kiosk": seen.kiosk,
            "refresh": f"/wall/cameras?{urlencode(_query(site, token) | {'lang': language})}",
            "listEvery": config.list_seconds,
            "labels": {key: text(key, language) for key in WALL_LABELS},
        }
        return TEMPLATES.TemplateResponse(
            request,
            "wall.html",
            {
                "t": t,
                "tv": tv,
                "lang": language,
                "chrome": site is None,
                "sites": seen.sites,
                "switch": "?" + urlencode(switch),
                # "<" escaped: a site name must not end the <script> it is embedded in
                "page": json.dumps(page, ensure_ascii=False).replace("<", "\\u003c"),
            },
        )

    @router.get("/wall/cameras", summary="The wall's cameras and a new viewer token")
    async def wall_cameras(
        credentials: Annotated[HTTPBasicCredentials | None, Depends(OPTIONAL_BASIC)],
        site: Annotated[str | None, Query(description="one site (namespace)")] = None,
        token: Annotated[str | None, Query(description="a kiosk link's token")] = None,
        lang: Annotated[Literal["vi", "en"] | None, Query(description="vi or en")] = None,
    ) -> JSONResponse:
        language: Language = lang or config.default_language
        seen = await view(credentials, token, site, language)
        return JSONResponse(
            {
                "token": seen.token,
                "expires": seen.expires,
                "sites": [asdict(block) | _summary(block, language) for block in seen.sites],
            },
            headers={"Cache-Control": "no-store"},
        )

    @router.get("/wall/link", summary="A kiosk link to one site's wall")
    async def wall_link(
        credentials: Annotated[HTTPBasicCredentials | None, Depends(OPTIONAL_BASIC)],
        site: Annotated[str, Query(description="the site (namespace) the screen shows")],
    ) -> JSONResponse:
        language = config.default_language
        if credentials is None:
            raise HTTPException(401, text("login_failed", language), headers=CHALLENGE)
        seen = await view(credentials, None, site, language)
        lifetime = config.kiosk_hours * 3600
        token = signer.sign(credentials.username, camera_ids(seen.sites), lifetime)
        expires = int(clock() + lifetime)
        return JSONResponse(
            {
                "url": f"/wall?{urlencode(_query(site, token))}",
                "expires": datetime.fromtimestamp(expires, UTC).isoformat(),
                "cameras": camera_ids(seen.sites),
            }
        )

    @router.get("/wall/wall.js", include_in_schema=False)
    async def wall_js() -> FileResponse:
        return FileResponse(WALL_JS, media_type="text/javascript")

    return router


def _summary(block: WallSite, language: Language) -> dict[str, str]:
    """A site's heading detail as the page shows it: sector and camera count, translated."""
    sector = text(block.sector, language) if block.sector in MESSAGES else block.sector
    count = text("camera_count", language, count=len(block.cameras))
    return {"summary": f"{sector} · {count}"}


def _query(site: str | None, token: str | None) -> dict[str, str]:
    query = {"site": site} if site else {}
    return query | ({"token": token} if token else {})


async def _read(read: Callable[[], list[WallSite]], language: Language) -> list[WallSite]:
    try:
        return await asyncio.to_thread(read)
    except DittoUnauthorizedError:
        raise HTTPException(401, text("login_failed", language), headers=CHALLENGE) from None
    except DittoError as exc:
        raise HTTPException(503, text("unavailable", language, error=exc)) from None
