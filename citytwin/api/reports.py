"""Citizen reports over HTTP: systems submit and follow theirs, operators answer them.

    POST /api/reports                       a report (multipart/form-data)   reporting system
    GET  /api/reports                       reports, filtered, newest first  system (own) / viewer
    GET  /api/reports/summary               counts and response times        viewer
    GET  /api/reports/{id}                  one report: state and reply      system (own) / viewer
    GET  /api/reports/{id}/photos/{n}       its n-th photo (JPEG, EXIF-free) system (own) / viewer
    POST /api/reports/{id}/assign|reply|resolve  the operator's answer       operator

A reporting system (``reports.systems.NAME.token``, bearer) may submit reports and read
its own, nothing else: it is no caller of the alerts API, and another system's report is
a 404 to it. People and ``api.tokens`` reach these routes with their role, as the alerts
API (``citytwin.auth``).

A submission is checked whole before anything is kept: a refusal stores no photo, no
twin and no alert. The same ``client_key`` from the same system answers the first report
again (200, 201 the first time); with other content it is a 409 naming the key.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from statistics import median
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBasicCredentials
from pydantic import AwareDatetime, BaseModel, Field
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from citytwin.api.access import BASIC, BEARER
from citytwin.api.errors import ApiRefusalError, refusals
from citytwin.auth import Authenticator, Principal, Role
from citytwin.report_desk import (
    ReportConflictError,
    ReportDesk,
    ReportNotFoundError,
    ReportUnavailableError,
    Submission,
)
from ingest.reports.boundary import ProvinceBoundary
from ingest.reports.categories import CATEGORY_NAMES, ReportCategory
from ingest.reports.photos import CleanPhoto, NotAnImageError, PhotoTooLargeError, clean_photo
from ingest.reports.settings import ReportSettings
from ingest.reports.twin import Report, ReportState, fingerprint

FORM_OVERHEAD = 256 * 1024
"""Bytes a multipart body may carry beyond its photos: the text fields and boundaries."""
REPORT_ID = Annotated[str, Path(max_length=200, description="the report's twin id")]


@dataclass(slots=True, frozen=True)
class ReportCaller:
    """A reporting system (``system``) or a person or API token with a role."""

    system: str | None
    principal: Principal | None

    @property
    def actor(self) -> str:
        return self.principal.actor if self.principal else f"reports:{self.system}"


def report_caller(
    settings: ReportSettings, authenticator: Authenticator
) -> Callable[..., Awaitable[ReportCaller]]:
    """A dependency: a reporting system by its token, or a caller of the API."""
    systems = {name: s.token.get_secret_value() for name, s in settings.systems.items()}

    async def caller(
        basic: Annotated[HTTPBasicCredentials | None, Depends(BASIC)],
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    ) -> ReportCaller:
        if bearer is not None:
            given = bearer.credentials.strip().encode()
            for name, token in systems.items():
                if secrets.compare_digest(given, token.encode()):
                    return ReportCaller(name, None)
            principal = authenticator.by_token(bearer.credentials)
        elif basic is not None:
            principal = authenticator.by_password(basic.username, basic.password)
        else:
            principal = None
        if principal is None:
            raise ApiRefusalError(
                401,
                "unauthorized",
                "missing or wrong credentials: a reporting system sends 'Authorization:"
                " Bearer <its reports.systems token>'; people log in with a console user",
            )
        return ReportCaller(None, principal)

    return caller


def _needs(caller: ReportCaller, role: Role) -> Principal:
    if caller.principal is None:
        raise ApiRefusalError(
            403,
            "forbidden",
            f"reporting system {caller.system} may submit reports and read its own only;"
            f" this needs a console user or API token with the role {role}",
            needed=str(role),
        )
    if not caller.principal.may(role):
        raise ApiRefusalError(
            403,
            "forbidden",
            f"{caller.principal.actor} is a {caller.principal.role}; this needs the role {role}"
            " or higher",
            needed=str(role),
        )
    return caller.principal


class ReportBody(BaseModel):
    id: str
    system: str
    client_key: str
    category: ReportCategory
    category_vi: str
    category_en: str
    lat: float
    lon: float
    text: str
    photos: list[str] = Field(description="paths of the report's photos")
    received_at: datetime
    state: ReportState
    assignee: str | None
    assigned_at: datetime | None
    reply: str | None = Field(description="the answer to the citizen")
    replied_at: datetime | None
    resolved_at: datetime | None
    alert_id: str | None = Field(description="the operator's alert (GET /api/alerts/{id})")


class ReportsBody(BaseModel):
    reports: list[ReportBody]


class AssignBody(BaseModel):
    assignee: str = Field(min_length=1, max_length=200)


class ReplyBody(BaseModel):
    reply: str = Field(min_length=1, max_length=4000)


class ResolveBody(BaseModel):
    reply: str | None = Field(
        None, min_length=1, max_length=4000, description="the answer, unless sent before"
    )


class SummaryBody(BaseModel):
    reports: int
    by_category: dict[str, int]
    by_state: dict[str, int]
    first_response_median_minutes: float | None = Field(
        description="received → assigned or replied to, whichever came first"
    )
    resolve_median_minutes: float | None = Field(description="received → resolved")


def report_body(report: Report) -> ReportBody:
    names = CATEGORY_NAMES[report.category]
    return ReportBody(
        id=report.id,
        system=report.system,
        client_key=report.client_key,
        category=report.category,
        category_vi=names["vi"],
        category_en=names["en"],
        lat=report.lat,
        lon=report.lon,
        text=report.text,
        photos=[f"/api/reports/{report.id}/photos/{n}" for n in range(1, report.photos + 1)],
        received_at=report.received_at,
        state=report.state,
        assignee=report.assignee,
        assigned_at=report.assigned_at,
        reply=report.reply,
        replied_at=report.replied_at,
        resolved_at=report.resolved_at,
        alert_id=report.alert_id,
    )


def _invalid(field: str, message: str) -> ApiRefusalError:
    return ApiRefusalError(422, "invalid", f"{field}: {message}", field=field)


def _text_field(form: FormData, name: str, *, required: bool = True) -> str:
    value = form.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _invalid(name, "is required")
        return ""
    if not isinstance(value, str):
        raise _invalid(name, "must be a text field, not a file")
    return value.strip()


def _coordinate(form: FormData, name: str, low: float, high: float) -> float:
    text = _text_field(form, name)
    try:
        value = float(text)
    except ValueError:
        raise _invalid(name, f"{text[:40]!r} is not a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise _invalid(name, f"{text[:40]!r} is outside {low}…{high}")
    return value


class SubmissionReader:
    """Checks a multipart submission field by field, keeping nothing."""

    def __init__(self, settings: ReportSettings, boundary: ProvinceBoundary) -> None:
        self.settings = settings
        self.boundary = boundary

    async def read(self, request: Request, system: str) -> Submission:
        s = self.settings
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media not in {"multipart/form-data", "application/x-www-form-urlencoded"}:
            raise ApiRefusalError(
                415,
                "unsupported_media_type",
                f"Content-Type {media or '(none)'!r}: send multipart/form-data (or, without"
                " photos, application/x-www-form-urlencoded)",
            )
        cap = s.max_photos * s.max_photo_bytes + FORM_OVERHEAD
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise ApiRefusalError(
                413,
                "too_large",
                f"the request is {declared} bytes, more than {cap} ({s.max_photos} photos"
                f" of {s.max_photo_bytes} bytes at most)",
            )
        try:
            form = await request.form(max_files=s.max_photos + 1, max_fields=20)
        except (MultiPartException, HTTPException) as exc:
            # Starlette answers a malformed body with an HTTPException wrapping its
            # parser's error; either way it is the caller's body at fault
            problem = exc.message if isinstance(exc, MultiPartException) else str(exc.detail)
            if "files" in problem.lower():
                raise _invalid("photo", f"more than {s.max_photos} photos") from None
            raise ApiRefusalError(422, "invalid", f"body: {problem}", field="body") from None
        try:
            return await self._check(form, system)
        finally:
            await form.close()

    async def _check(self, form: FormData, system: str) -> Submission:
        s = self.settings
        word = _text_field(form, "category")
        try:
            category = ReportCategory(word)
        except ValueError:
            known = ", ".join(ReportCategory)
            raise _invalid("category", f"{word[:40]!r} is not one of: {known}") from None
        client_key = _text_field(form, "client_key")
        if len(client_key) > 200:
            raise _invalid("client_key", "is longer than 200 characters")
        lat = _coordinate(form, "lat", -90, 90)
        lon = _coordinate(form, "lon", -180, 180)
        if not self.boundary.contains(lat, lon):
            raise _invalid(
                "lat",
                f"the location {lat:.5f}, {lon:.5f} is outside the province"
                f" ({self.boundary.source.name})",
            )
        text = _text_field(form, "text")
        if not s.min_text <= len(text) <= s.max_text:
            raise _invalid("text", f"is {len(text)} characters; send {s.min_text} to {s.max_text}")
        files = [v for v in form.getlist("photo") + form.getlist("photos") if v is not None]
        uploads = [f for f in files if isinstance(f, UploadFile)]
        if len(uploads) != len(files):
            raise _invalid("photo", "must be a file part, not a text field")
        if len(uploads) > s.max_photos:
            raise _invalid("photo", f"{len(uploads)} photos; at most {s.max_photos}")
        raw: list[bytes] = []
        cleaned: list[CleanPhoto] = []
        for number, upload in enumerate(uploads, start=1):
            name = upload.filename or f"photo {number}"
            data = await upload.read(s.max_photo_bytes + 1)
            try:
                cleaned.append(
                    clean_photo(
                        name, data, max_bytes=s.max_photo_bytes, max_pixels=s.max_photo_pixels
                    )
                )
            except PhotoTooLargeError as exc:
                raise ApiRefusalError(413, "too_large", str(exc), field="photo") from None
            except NotAnImageError as exc:
                raise ApiRefusalError(
                    415, "unsupported_media_type", str(exc), field="photo"
                ) from None
            raw.append(data)
        return Submission(
            system=system,
            client_key=client_key,
            fingerprint=fingerprint(category, lat, lon, text, raw),
            category=category,
            lat=lat,
            lon=lon,
            text=text,
            photos=cleaned,
        )


def _minutes(pairs: list[tuple[datetime, datetime | None]]) -> float | None:
    spans = [(end - start).total_seconds() / 60 for start, end in pairs if end is not None]
    return round(median(spans), 1) if spans else None


def _first_response(report: Report) -> datetime | None:
    answers = [t for t in (report.assigned_at, report.replied_at) if t is not None]
    return min(answers) if answers else None


def reports_router(
    desk: ReportDesk, reader: SubmissionReader, authenticator: Authenticator
) -> APIRouter:
    router = APIRouter(prefix="/api/reports", tags=["reports"])
    caller_of = Depends(report_caller(desk.settings, authenticator))

    async def act(work: Awaitable[Report]) -> Report:
        try:
            return await work
        except ReportNotFoundError as exc:
            raise ApiRefusalError(404, "not_found", str(exc)) from None
        except ReportConflictError as exc:
            extra = {"state": exc.state} if exc.state else {}
            raise ApiRefusalError(409, "conflict", str(exc), **extra) from None
        except ReportUnavailableError as exc:
            raise ApiRefusalError(503, "unavailable", str(exc)) from None

    def system_of(caller: ReportCaller) -> str | None:
        if caller.system is None:
            _needs(caller, Role.VIEWER)
        return caller.system

    @router.post(
        "",
        summary="Submit a citizen report (multipart/form-data)",
        response_model=ReportBody,
        status_code=201,
        responses={
            200: {"model": ReportBody, "description": "this client_key's report, sent before"},
            **refusals(401, 403, 409, 413, 415, 422, 503),
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["category", "lat", "lon", "text", "client_key"],
                            "properties": {
                                "category": {"type": "string", "enum": list(ReportCategory)},
                                "lat": {"type": "number"},
                                "lon": {"type": "number"},
                                "text": {"type": "string"},
                                "client_key": {"type": "string", "maxLength": 200},
                                "photo": {
                                    "type": "array",
                                    "items": {"type": "string", "format": "binary"},
                                },
                            },
                        }
                    }
                },
            }
        },
    )
    async def submit(request: Request, caller: ReportCaller = caller_of) -> Any:
        if caller.system is None:
            raise ApiRefusalError(
                403,
                "forbidden",
                f"{caller.actor} is no reporting system: reports come from the systems of"
                " reports.systems, with their own token",
                needed="reporting system",
            )
        submission = await reader.read(request, caller.system)
        submitted = await act_submit(desk, submission)
        body = report_body(submitted.report).model_dump(mode="json")
        return JSONResponse(body, status_code=201 if submitted.created else 200)

    async def act_submit(desk: ReportDesk, submission: Submission) -> Any:
        try:
            return await desk.submit(submission)
        except ReportConflictError as exc:
            raise ApiRefusalError(409, "conflict", str(exc), field="client_key") from None
        except ReportUnavailableError as exc:
            raise ApiRefusalError(503, "unavailable", str(exc)) from None

    @router.get(
        "",
        summary="Reports, newest first (a reporting system sees its own)",
        response_model=ReportsBody,
        responses=refusals(401, 403, 422, 503),
    )
    async def list_reports(
        caller: ReportCaller = caller_of,
        state: ReportState | None = None,
        category: ReportCategory | None = None,
        system: Annotated[str | None, Query(max_length=40)] = None,
        since: AwareDatetime | None = None,
        until: AwareDatetime | None = None,
    ) -> ReportsBody:
        own = system_of(caller)
        try:
            found = await desk.search(
                system=own or system, state=state, category=category, since=since, until=until
            )
        except ReportUnavailableError as exc:
            raise ApiRefusalError(503, "unavailable", str(exc)) from None
        return ReportsBody(reports=[report_body(r) for r in found])

    @router.get(
        "/summary",
        summary="Reports by category and state, median time to first response and to resolve",
        response_model=SummaryBody,
        responses=refusals(401, 403, 422, 503),
    )
    async def summary(
        caller: ReportCaller = caller_of,
        since: AwareDatetime | None = None,
        until: AwareDatetime | None = None,
    ) -> SummaryBody:
        _needs(caller, Role.VIEWER)
        try:
            found = await desk.search(since=since, until=until)
        except ReportUnavailableError as exc:
            raise ApiRefusalError(503, "unavailable", str(exc)) from None
        by_category = {str(c): 0 for c in ReportCategory}
        by_state = {str(s): 0 for s in ReportState}
        for report in found:
            by_category[report.category] += 1
            by_state[report.state] += 1
        return SummaryBody(
            reports=len(found),
            by_category=by_category,
            by_state=by_state,
            first_response_median_minutes=_minutes(
                [(r.received_at, _first_response(r)) for r in found]
            ),
            resolve_median_minutes=_minutes([(r.received_at, r.resolved_at) for r in found]),
        )

    @router.get(
        "/{report_id}",
        summary="One report: its state and the reply to the citizen",
        response_model=ReportBody,
        responses=refusals(401, 403, 404, 503),
    )
    async def get_report(report_id: REPORT_ID, caller: ReportCaller = caller_of) -> ReportBody:
        own = system_of(caller)
        return report_body(await act(desk.get(report_id, system=own)))

    @router.get(
        "/{report_id}/photos/{number}",
        summary="One photo of a report, as stored: a JPEG without EXIF",
        response_class=Response,
        responses={
            200: {"content": {"image/jpeg": {}}, "description": "the photo"},
            **refusals(401, 403, 404, 503),
        },
    )
    async def photo(
        report_id: REPORT_ID,
        number: Annotated[int, Path(ge=1, le=100)],
        caller: ReportCaller = caller_of,
    ) -> Response:
        own = system_of(caller)
        report = await act(desk.get(report_id, system=own))
        data = desk.photos.get(report.id, number) if number <= report.photos else None
        if data is None:
            raise ApiRefusalError(
                404, "not_found", f"report {report.id} has {report.photos} photo(s), not {number}"
            )
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private"})

    @router.post(
        "/{report_id}/assign",
        summary="Give the report to someone; its alert is acknowledged",
        response_model=ReportBody,
        responses=refusals(401, 403, 404, 409, 422, 503),
    )
    async def assign(
        report_id: REPORT_ID, body: AssignBody, caller: ReportCaller = caller_of
    ) -> ReportBody:
        actor = _needs(caller, Role.OPERATOR).actor
        return report_body(await act(desk.assign(report_id, body.assignee, actor)))

    @router.post(
        "/{report_id}/reply",
        summary="Send the citizen an answer; the report's system reads it",
        response_model=ReportBody,
        responses=refusals(401, 403, 404, 409, 422, 503),
    )
    async def reply(
        report_id: REPORT_ID, body: ReplyBody, caller: ReportCaller = caller_of
    ) -> ReportBody:
        actor = _needs(caller, Role.OPERATOR).actor
        return report_body(await act(desk.reply(report_id, body.reply, actor)))

    @router.post(
        "/{report_id}/resolve",
        summary="Close the report (with its reply, unless sent before); its alert is resolved",
        response_model=ReportBody,
        responses=refusals(401, 403, 404, 409, 422, 503),
    )
    async def resolve(
        report_id: REPORT_ID, body: ResolveBody, caller: ReportCaller = caller_of
    ) -> ReportBody:
        actor = _needs(caller, Role.OPERATOR).actor
        try:
            return report_body(await act(desk.resolve(report_id, body.reply, actor)))
        except ValueError as exc:
            raise _invalid("reply", str(exc)) from None

    return router
