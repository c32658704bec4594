"""Ditto's error answers of the twin service, and how they reach the client.

Every failure is one of the `twins.errors.DittoError` classes, rendered by
`ditto_error_response` as Ditto's body ``{status, error, message, description}``. The
builders here give each missing resource its Ditto error code
(``things:feature.property.notfound`` …) and a message naming the thing and the path.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from twins.errors import DittoError, DittoNotFoundError
from twins.pointer import Pointer, format_pointer

logger = logging.getLogger(__name__)

JSON = "application/json"

# Error codes by resource kind, as Ditto names them.
NOT_FOUND_CODES = {
    "thing": "things:thing.notfound",
    "policyId": "things:policyid.notfound",
    "definition": "things:definition.notfound",
    "attributes": "things:attributes.notfound",
    "attribute": "things:attribute.notfound",
    "features": "things:features.notfound",
    "feature": "things:feature.notfound",
    "featureDefinition": "things:feature.definition.notfound",
    "properties": "things:feature.properties.notfound",
    "property": "things:feature.property.notfound",
    "desiredProperties": "things:feature.desiredProperties.notfound",
    "desiredProperty": "things:feature.desiredProperty.notfound",
}


class NotModifiedError(Exception):
    """Not a failure: ``If-None-Match`` matched on a read, answered with 304."""

    def __init__(self, etag: str) -> None:
        super().__init__(etag)
        self.etag = etag


def thing_not_found(thing_id: str) -> DittoNotFoundError:
    """404 for a thing that is missing or not visible to the caller."""
    return DittoNotFoundError(
        f"The Thing with ID '{thing_id}' could not be found or the requester had"
        " insufficient permissions to access it.",
        error=NOT_FOUND_CODES["thing"],
        description="Check if the ID of your requested Thing was correct and you have"
        " sufficient permissions.",
    )


def resource_not_found(kind: str, thing_id: str, pointer: Pointer) -> DittoNotFoundError:
    """404 for a missing sub-resource of a thing."""
    if kind == "thing":
        return thing_not_found(thing_id)
    return DittoNotFoundError(
        f"The {kind} at '{format_pointer(pointer)}' of the Thing with ID '{thing_id}' does"
        " not exist or the requester had insufficient permissions to access it.",
        error=NOT_FOUND_CODES.get(kind, "things:resource.notfound"),
        description="Check the path, and that the thing has this part.",
    )


def policy_not_found(policy_id: str) -> DittoNotFoundError:
    """404 for a policy that is missing or not readable by the caller."""
    return DittoNotFoundError(
        f"The Policy with ID '{policy_id}' could not be found or the requester had"
        " insufficient permissions to access it.",
        error="policies:policy.notfound",
        description="Check if the ID of your requested Policy was correct and you have"
        " sufficient permissions.",
    )


def ditto_error_response(error: DittoError) -> Response:
    """The HTTP answer for ``error``; 5xx are logged, as nothing a client sent causes them."""
    if error.status >= 500:
        logger.error("twin service failure: %s", error)
    return Response(
        orjson.dumps(error.to_json()),
        status_code=error.status,
        media_type=JSON,
        headers=error.headers,
    )


async def _ditto_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DittoError)
    return ditto_error_response(exc)


async def _not_modified(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NotModifiedError)
    return Response(status_code=304, headers={"ETag": exc.etag})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        error = DittoError(
            f"{request.method} is not allowed on {request.url.path}",
            status=405,
            error="http:method.notallowed",
        )
    else:
        error = DittoError(
            f"there is no resource {request.url.path}",
            status=exc.status_code,
            error="http:resource.notfound" if exc.status_code == 404 else "http:error",
        )
    return ditto_error_response(error)


async def _unexpected(request: Request, exc: Exception) -> Response:
    logger.error("twin service: %s %s failed", request.method, request.url.path, exc_info=exc)
    return ditto_error_response(
        DittoError(
            f"the twin service failed on {request.method} {request.url.path}",
            status=500,
            error="twins:internal",
        )
    )


Handler = Callable[[Request, Exception], Awaitable[Response]]


def exception_handlers() -> dict[type[Exception], Handler]:
    """Starlette's handlers: every failure becomes Ditto's error body (304 for a match)."""
    return {
        DittoError: _ditto_error,
        NotModifiedError: _not_modified,
        HTTPException: _http_error,
        Exception: _unexpected,
    }
