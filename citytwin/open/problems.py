"""NGSI-LD errors as the specification answers them: RFC 9457 ProblemDetails whose
``type`` is one of ETSI's error URIs, naming the offending parameter and value.

    OpenDataError
      400 BadRequestData        a parameter is unusable (``parameter`` names it)
      400 InvalidRequest        the request as a whole cannot be read
      404 ResourceNotFound      no entity with that id
      401 Unauthorized          an ``X-API-Key`` that is no key of ours
      429 TooManyRequests       over the caller's quota (with ``Retry-After``)
      503 ServiceUnavailable    the twins or InfluxDB did not answer (not ETSI's: about:blank)
"""

from __future__ import annotations

from enum import StrEnum

from fastapi import Request
from fastapi.responses import JSONResponse

PROBLEM_JSON = "application/problem+json"
ETSI_ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"


class ProblemType(StrEnum):
    BAD_REQUEST_DATA = "BadRequestData"
    INVALID_REQUEST = "InvalidRequest"
    RESOURCE_NOT_FOUND = "ResourceNotFound"
    UNAUTHORIZED = "Unauthorized"
    TOO_MANY_REQUESTS = "TooManyRequests"
    SERVICE_UNAVAILABLE = "ServiceUnavailable"


STATUS = {
    ProblemType.BAD_REQUEST_DATA: 400,
    ProblemType.INVALID_REQUEST: 400,
    ProblemType.RESOURCE_NOT_FOUND: 404,
    ProblemType.UNAUTHORIZED: 401,
    ProblemType.TOO_MANY_REQUESTS: 429,
    ProblemType.SERVICE_UNAVAILABLE: 503,
}
ETSI_TYPES = frozenset(
    {ProblemType.BAD_REQUEST_DATA, ProblemType.INVALID_REQUEST, ProblemType.RESOURCE_NOT_FOUND}
)
TITLES = {
    ProblemType.BAD_REQUEST_DATA: "Bad request data",
    ProblemType.INVALID_REQUEST: "Invalid request",
    ProblemType.RESOURCE_NOT_FOUND: "Resource not found",
    ProblemType.UNAUTHORIZED: "Unknown API key",
    ProblemType.TOO_MANY_REQUESTS: "Too many requests",
    ProblemType.SERVICE_UNAVAILABLE: "Service unavailable",
}


class OpenDataError(Exception):
    """A refusal of the open API; the handler answers it as ProblemDetails."""

    def __init__(
        self,
        kind: ProblemType,
        detail: str,
        *,
        parameter: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.parameter = parameter
        self.headers = headers or {}


def bad_parameter(parameter: str, detail: str) -> OpenDataError:
    """A 400 BadRequestData naming ``parameter``; ``detail`` says what is wrong with it."""
    return OpenDataError(
        ProblemType.BAD_REQUEST_DATA, f"{parameter}: {detail}", parameter=parameter
    )


def problem_response(request: Request, error: OpenDataError) -> JSONResponse:
    kind = error.kind
    body: dict[str, object] = {
        "type": f"{ETSI_ERRORS}{kind.value}" if kind in ETSI_TYPES else "about:blank",
        "title": TITLES[kind],
        "status": STATUS[kind],
        "detail": error.detail,
        "instance": request.url.path,
    }
    if error.parameter is not None:
        body["parameter"] = error.parameter
    return JSONResponse(
        body, status_code=STATUS[kind], headers=error.headers, media_type=PROBLEM_JSON
    )


async def on_open_data_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OpenDataError)
    return problem_response(request, exc)
