"""HTTP routes of the hub: WHEP sessions, snapshots, the camera list, a minimal player.

WHEP (draft-ietf-wish-whep, which takes its HTTP rules from WHIP, RFC 9725):

    POST    /whep/{camera}               SDP offer (application/sdp) → 201, the answer,
                                         Location of the session, ETag
    DELETE  /whep/{camera}/{session}     ends the session → 200
    PATCH   /whep/{camera}/{session}     405: no trickle ICE or ICE restart; the offer
                                         must carry its candidates (gathering complete)
    OPTIONS /whep/{camera}               204 with Accept-Post: application/sdp; CORS
                                         preflights are answered by CORSMiddleware

    GET     /api/cameras                 the caller's cameras: health, viewers
    GET     /api/cameras/{camera}/snapshot.jpg   its latest picture
    GET     /video/player                a WHEP player page (any WHEP player works too)

Answers to bad requests say what is wrong: 400 names the missing part of the offer, 404
an unknown camera or session, 415 a body that is not SDP, 503 with ``Retry-After`` a
viewer bound reached.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import HTMLResponse, PlainTextResponse

from twins.http_body import BodyTooLargeError, read_body
from video.auth import ViewerAuth
from video.errors import (
    CameraUnknownError,
    NotAllowedError,
    NotAuthenticatedError,
    OfferError,
    SessionUnknownError,
    VideoError,
    ViewerLimitError,
)
from video.health import iso
from video.hub import VideoHub
from video.relay import Relay
from video.settings import VideoSettings
from video.snapshot import jpeg, last_picture

SDP = "application/sdp"
CHALLENGES = ('Basic realm="citytwin"', 'Bearer realm="citytwin"')
PLAYER = Path(__file__).with_name("player.html")


def _problem(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return PlainTextResponse(message + "\n", status_code=status, headers=headers)


def _no_picture(camera: str) -> Response:
    return _problem(503, f"camera {camera!r} has sent no picture yet", {"Retry-After": "2"})


def error_response(exc: VideoError) -> Response:
    """The HTTP answer to a video error."""
    match exc:
        case OfferError():
            return _problem(400, str(exc))
        case NotAuthenticatedError():
            response = _problem(401, str(exc))
            for challenge in CHALLENGES:  # one header each: browsers read one scheme a header
                response.headers.append("WWW-Authenticate", challenge)
            return response
        case NotAllowedError():
            return _problem(403, str(exc))
        case CameraUnknownError() | SessionUnknownError():
            return _problem(404, str(exc))
        case ViewerLimitError():
            return _problem(503, str(exc), {"Retry-After": str(exc.retry_after)})
    return _problem(503, str(exc), {"Retry-After": "5"})


def _ice_links(settings: VideoSettings) -> list[str]:
    """``Link`` headers announcing the configured ICE servers (WHIP section 4.4)."""
    links = []
    for server in settings.ice_servers:
        for url in server.urls:
            link = f'<{url}>; rel="ice-server"'
            if server.username and server.credential:
                link += (
                    f'; username="{server.username}"'
                    f'; credential="{server.credential.get_secret_value()}"'
                    '; credential-type="password"'
                )
            links.append(link)
    return links


def video_router(
    hub: VideoHub, relay: Relay, auth: ViewerAuth, settings: VideoSettings
) -> APIRouter:
    """Every route of the hub's HTTP API."""
    router = APIRouter()

    @router.options("/whep/{camera}", tags=["whep"], status_code=204)
    async def whep_options(camera: str) -> Response:
        """What this endpoint accepts (WHIP/WHEP: ``Accept-Post``)."""
        return Response(status_code=204, headers={"Accept-Post": SDP, "Allow": "POST, OPTIONS"})

    @router.post("/whep/{camera}", tags=["whep"], status_code=201)
    async def whep_offer(
        camera: str,
        request: Request,
        authorization: Annotated[str | None, Header()] = None,
    ) -> Response:
        """Answer a viewer's SDP offer for ``camera``; the session is at ``Location``."""
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != SDP:
            return _problem(
                415, f"the offer must be sent as {SDP}, not {content_type or 'no Content-Type'}"
            )
        try:
            viewer = await auth.viewer(authorization, camera)
            if camera not in hub.sources:
                raise CameraUnknownError(f"camera {camera!r} is not pulled by this video hub")
            body = await read_body(request, settings.offer_max_bytes)
            try:
                offer = body.decode()
            except UnicodeDecodeError:
                raise OfferError("the offer is not UTF-8 text") from None
            session, answer = await relay.open(camera, offer, viewer)
        except BodyTooLargeError as exc:
            return _problem(413, f"the offer is too large: {exc}")
        except VideoError as exc:
            return error_response(exc)
        headers = {
            "Location": f"/whep/{camera}/{session.id}",
            "ETag": '"' + hashlib.sha256(answer.encode()).hexdigest()[:16] + '"',
        }
        response = Response(answer, status_code=201, media_type=SDP, headers=headers)
        for link in _ice_links(settings):
            response.headers.append("Link", link)
        return response

    @router.delete("/whep/{camera}/{session_id}", tags=["whep"])
    async def whep_end(camera: str, session_id: str) -> Response:
        """End a WHEP session (the session URL is its capability, as in WHIP)."""
        session = relay.sessions.get(session_id)
        if session is None or session.camera != camera:
            return error_response(
                SessionUnknownError(f"no WHEP session {session_id!r} of {camera!r}")
            )
        await relay.close(session_id)
        return Response(status_code=200)

    @router.patch("/whep/{camera}/{session_id}", tags=["whep"])
    async def whep_patch(camera: str, session_id: str) -> Response:
        """Trickle ICE and ICE restarts are not supported: 405."""
        return _problem(
            405,
            "trickle ICE and ICE restarts are not supported: send an offer with its"
            " candidates (wait for ICE gathering to complete)",
            {"Allow": "DELETE, OPTIONS"},
        )

    @router.options("/whep/{camera}/{session_id}", tags=["whep"], status_code=204)
    async def whep_session_options(camera: str, session_id: str) -> Response:
        return Response(status_code=204, headers={"Allow": "DELETE, OPTIONS"})

    @router.get("/api/cameras", tags=["cameras"], response_model=None)
    async def cameras(
        authorization: Annotated[str | None, Header()] = None,
    ) -> list[dict[str, object]] | Response:
        """The cameras of this hub the caller may watch: health, codec, size and viewers."""
        try:
            visible = await _watchable(authorization)
        except VideoError as exc:
            return error_response(exc)
        listed: list[dict[str, object]] = []
        for camera, source in hub.sources.items():
            if camera not in visible:
                continue
            health = source.health_seen()
            listed.append(
                {
                    "thingId": camera,
                    "health": health.state.value,
                    "since": iso(health.since),
                    "lastFrameAt": iso(health.last_frame_at),
                    "error": health.error,
                    "codec": source.codec,
                    "width": source.width,
                    "height": source.height,
                    "viewers": relay.viewers_of(camera),
                    "whep": f"/whep/{camera}",
                }
            )
        return listed

    async def _watchable(authorization: str | None) -> set[str]:
        async def allowed(camera: str) -> str | None:
            try:
                await auth.viewer(authorization, camera)
            except NotAllowedError:
                return None
            return camera

        checked = await asyncio.gather(*(allowed(camera) for camera in hub.sources))
        return {camera for camera in checked if camera is not None}

    @router.get("/api/cameras/{camera}/snapshot.jpg", tags=["cameras"])
    async def snapshot(
        camera: str, authorization: Annotated[str | None, Header()] = None
    ) -> Response:
        """The camera's latest picture as JPEG (503 while no picture has arrived)."""
        try:
            await auth.viewer(authorization, camera)
            source = hub.sources.get(camera)
            if source is None:
                raise CameraUnknownError(f"camera {camera!r} is not pulled by this video hub")
            gop = source.gop.snapshot()
            if source.codec is None or not gop:
                return _problem(
                    503, f"camera {camera!r} has sent no picture yet", {"Retry-After": "2"}
                )
            codec, extradata = source.codec, source.extradata

            def encode() -> bytes | None:
                picture = last_picture(codec, extradata, gop)
                return None if picture is None else jpeg(picture)

            image = await asyncio.to_thread(encode)
        except VideoError as exc:
            return error_response(exc)
        if image is None:
            return _no_picture(camera)
        return Response(image, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    @router.get("/video/player", tags=["player"], response_class=HTMLResponse)
    async def player() -> HTMLResponse:
        """A minimal WHEP player: ``/video/player?camera=ID`` (``&token=…`` for a token)."""
        return HTMLResponse(PLAYER.read_text(encoding="utf-8"))

    return router
