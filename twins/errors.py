"""Errors raised by the twins package.

TwinsError
├── InvalidThingIdError     a thing id that breaks Ditto's rules
├── ContractError           an MQTT topic or payload that breaks the device contract
├── RegistryError           a site/device file that cannot be used
├── InvalidPointerError     a JSON pointer into a twin that is malformed
├── BodyTooLargeError       an HTTP body over its limit (twins/http_body.py)
└── DittoError              an error answer of the twin API, in Ditto's shape
    ├── DittoBadRequestError, DittoUnauthorizedError, DittoForbiddenError
    ├── DittoNotFoundError, DittoConflictError, DittoPreconditionFailedError
    └── DittoTooLargeError, DittoUnavailableError
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class TwinsError(Exception):
    """Base of every error the twins package raises."""


class InvalidThingIdError(TwinsError, ValueError):
    """A thing id (``namespace:name``) that does not follow the rules."""


class ContractReason(StrEnum):
    """Why a device message was refused: the dead letter's ``reason`` over MQTT and the
    ``error`` code of HTTP ingest, the same code for the same fault on either path."""

    TOPIC = "topic"
    UNKNOWN_DEVICE = "unknown_device"
    TOO_LARGE = "too_large"
    NOT_JSON = "not_json"
    SCHEMA = "schema"
    NOT_FINITE = "not_finite"
    TS_FUTURE = "ts_future"
    TS_PAST = "ts_past"
    FORBIDDEN = "forbidden"


class ContractError(TwinsError, ValueError):
    """A message or topic that breaks the MQTT device contract.

    ``reason`` is a short stable code (`ContractReason`) used to count dead letters; the
    message says what and where for a person.
    """

    def __init__(self, message: str, *, reason: ContractReason) -> None:
        super().__init__(message)
        self.reason = reason


class RegistryError(TwinsError, ValueError):
    """A site/device registry file with problems; ``problems`` lists ``where: message``."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"{source}: " + "; ".join(problems))
        self.source = source
        self.problems = problems


class InvalidPointerError(TwinsError, ValueError):
    """A JSON pointer into a twin (``attributes/location/room``) that is malformed."""


class DittoError(TwinsError):
    """An error answer of the twin API, in Ditto's shape.

    ``status`` is the HTTP status, ``error`` Ditto's error code (``things:thing.notfound``),
    ``message`` what went wrong and ``description`` how to fix it. The embedded service
    raises these to answer a request; `twins.client.DittoClient` raises them from answers.
    """

    status = 500
    default_error = "twins:internal"

    def __init__(
        self,
        message: str,
        *,
        error: str | None = None,
        description: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error = error or self.default_error
        self.description = description
        if status is not None:
            self.status = status
        self.headers = headers or {}

    def to_json(self) -> dict[str, Any]:
        """The error body Ditto sends: ``{status, error, message, description}``."""
        body: dict[str, Any] = {
            "status": self.status,
            "error": self.error,
            "message": self.message,
        }
        if self.description:
            body["description"] = self.description
        return body

    def __str__(self) -> str:
        return f"{self.status} {self.error}: {self.message}"


class DittoBadRequestError(DittoError, ValueError):
    """400: the request itself is wrong (id, pointer, RQL, JSON, type)."""

    status = 400
    default_error = "twins:request.invalid"


class DittoUnauthorizedError(DittoError):
    """401: missing or wrong credentials."""

    status = 401
    default_error = "gateway:authentication.failed"


class DittoForbiddenError(DittoError):
    """403: the caller may see the entity but not change it this way."""

    status = 403
    default_error = "things:thing.notmodifiable"


class DittoNotFoundError(DittoError, LookupError):
    """404: the entity or sub-resource does not exist or is not visible to the caller."""

    status = 404
    default_error = "things:thing.notfound"


class DittoConflictError(DittoError):
    """409: the entity already exists."""

    status = 409
    default_error = "things:thing.conflict"


class DittoPreconditionFailedError(DittoError):
    """412: an ``If-Match`` / ``If-None-Match`` condition did not hold."""

    status = 412
    default_error = "things:precondition.failed"


class DittoTooLargeError(DittoError):
    """413: the request body or the resulting entity is over the size limit."""

    status = 413
    default_error = "things:thing.tooLarge"


class DittoUnavailableError(DittoError):
    """A 5xx answer, or none at all (connection refused, timeout, broken stream)."""

    status = 503
    default_error = "twins:unavailable"


DITTO_ERRORS_BY_STATUS: dict[int, type[DittoError]] = {
    400: DittoBadRequestError,
    401: DittoUnauthorizedError,
    403: DittoForbiddenError,
    404: DittoNotFoundError,
    409: DittoConflictError,
    412: DittoPreconditionFailedError,
    413: DittoTooLargeError,
}
