"""The API's errors: one JSON shape for every refusal, as HTTP ingest answers.

    {"error": code, "message": text a person can act on, "where": "METHOD /path", …}

    401 unauthorized       no credentials, or wrong ones (with a WWW-Authenticate challenge)
    403 forbidden          the caller's role may not do this (``needed`` names the role)
    404 not_found          no alert, KPI, indicator, evidence or maintenance window with that id
    409 conflict           the alert's (or report's) state does not allow the action
                           (``state`` names it); a report's client_key reused for another
    413 too_large          a snapshot over 20 MiB, an upload of figures over its cap, a
                           report's photo over its cap
    415 unsupported_media_type  an upload that is neither JSON nor CSV; a report's photo
                           that is no image
    422 invalid            a parameter or body field is unusable (``field`` names it)
    503 unavailable        the alert store or InfluxDB cannot be reached

Validation errors of the framework (a severity that is none, a naive time) are turned
into the same shape for these routes, with every problem listed under ``problems``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

API_PREFIXES = (
    "/api/alerts",
    "/api/kpis",
    "/api/maintenance",
    "/api/indicators",
    "/api/reports",
)
CHALLENGE = 'Basic realm="citytwin", Bearer'


class ErrorBody(BaseModel):
    """What every refusal of the API looks like."""

    error: str = Field(description="unauthorized, forbidden, not_found, conflict, invalid, …")
    message: str = Field(description="what is wrong, with the offending value")
    where: str = Field(description="the request: METHOD /path")
    field: str | None = Field(None, description="the parameter or body field at fault (422)")
    state: str | None = Field(None, description="the alert's current state (409)")
    needed: str | None = Field(None, description="the role the action needs (403)")


class ApiRefusalError(Exception):
    """A refusal the handler turns into an ``ErrorBody`` answer."""

    def __init__(self, status: int, error: str, message: str, **extra: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.extra = extra


def where(request: Request) -> str:
    return f"{request.method} {request.url.path}"


def problem_response(request: Request, problem: ApiRefusalError) -> JSONResponse:
    body: dict[str, Any] = {
        "error": problem.error,
        "message": problem.message,
        "where": where(request),
        **problem.extra,
    }
    headers = {"WWW-Authenticate": CHALLENGE} if problem.status == 401 else None
    return JSONResponse(body, status_code=problem.status, headers=headers)


def _location(loc: Sequence[int | str]) -> str:
    """``("query", "severity", 0)`` → ``severity``; ``("body", "text")`` → ``text``."""
    parts = [str(part) for part in loc]
    if parts and parts[0] in {"query", "path", "header"}:
        return parts[1] if len(parts) > 1 else parts[0]
    if parts and parts[0] == "body":
        return ".".join(parts[1:]) or "body"
    return ".".join(parts)


def install_handlers(app: FastAPI) -> None:
    """Answer ``ApiRefusalError`` and, on the API's routes, validation errors as ``ErrorBody``."""

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiRefusalError)
        return problem_response(request, exc)

    async def on_invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if not request.url.path.startswith(API_PREFIXES):
            return await request_validation_exception_handler(request, exc)
        errors = list(exc.errors())
        problems = [
            {"field": _location(error.get("loc", ())), "message": str(error.get("msg", ""))}
            for error in errors
        ]
        first = problems[0] if problems else {"field": "", "message": "invalid request"}
        given = errors[0].get("input") if errors else None
        shown = f" (given {given!r})" if isinstance(given, str | int | float) else ""
        body = {
            "error": "invalid",
            "message": f"{first['field']}: {first['message']}{shown}",
            "where": where(request),
            "field": first["field"],
            "problems": problems,
        }
        return JSONResponse(body, status_code=422)

    app.add_exception_handler(ApiRefusalError, on_problem)
    app.add_exception_handler(RequestValidationError, on_invalid)


def refusals(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the refusals a route may answer."""
    described = {
        401: "no credentials, or wrong ones",
        403: "the caller's role may not do this",
        404: "no such alert, KPI, evidence or window",
        409: "the alert's state does not allow the action",
        413: "the body is larger than accepted",
        415: "the body is not of a type the route reads",
        422: "a parameter or body field is unusable",
        503: "the alert store or InfluxDB cannot be reached",
    }
    return {status: {"model": ErrorBody, "description": described[status]} for status in statuses}
