"""What the API's routes depend on: the caller (with a role high enough) and the alert
lifecycle on the shared store.

The store is opened at the first request that needs it, not when the app starts: a
PostgreSQL that is down while ``citytwin serve`` starts must not keep the console and
the twin API from serving; those requests answer 503 naming the store, and a later
request opens it once it answers.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import (
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
)

from analytics.alerts.errors import AlertStoreError
from analytics.alerts.evidence import DiskEvidenceStorage
from analytics.alerts.lifecycle import AlertLifecycle, Clock, utc_now
from analytics.alerts.settings import AlertStoreSettings
from analytics.alerts.store import AlertStore
from citytwin.api.errors import ApiRefusalError
from citytwin.auth import Authenticator, Principal, Role

logger = logging.getLogger(__name__)


class AlertAccess:
    """The lifecycle the API acts through, on the store ``citytwin analytics`` uses too."""

    def __init__(
        self,
        settings: AlertStoreSettings,
        url: str,
        evidence: DiskEvidenceStorage,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self.settings = settings
        self.url = url
        self.evidence = evidence
        self.clock = clock
        self._lifecycle: AlertLifecycle | None = None
        self._lock = asyncio.Lock()

    async def lifecycle(self) -> AlertLifecycle:
        """The lifecycle, opening (and migrating) the store on first use; 503 if it cannot."""
        if self._lifecycle is not None:
            return self._lifecycle
        async with self._lock:
            if self._lifecycle is None:
                password = self.settings.password.get_secret_value()
                try:
                    store = await AlertStore.connect(self.url, password)
                except AlertStoreError as exc:
                    logger.warning("alert store not available: %s", exc)
                    raise ApiRefusalError(503, "unavailable", str(exc)) from None
                self._lifecycle = AlertLifecycle(
                    store,
                    escalation=self.settings.escalation,
                    clock=self.clock,
                    evidence=self.evidence,
                )
            return self._lifecycle

    def close(self) -> None:
        if self._lifecycle is not None:
            self._lifecycle.store.close()
            self._lifecycle = None


class ConsoleLogin(HTTPBasic):
    """HTTP basic as browsers send it: UTF-8 (a Vietnamese password), and a malformed
    header is no credential (the caller then gets the API's own 401), where FastAPI's
    scheme takes ASCII only and answers a malformed header itself."""

    async def __call__(self, request: Request) -> HTTPBasicCredentials | None:  # type: ignore[override]
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic" or not value:
            return None
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, separator, password = decoded.partition(":")
        return HTTPBasicCredentials(username=user, password=password) if separator else None


BASIC = ConsoleLogin(realm="citytwin", auto_error=False, description="a console user")
BEARER = HTTPBearer(auto_error=False, description="an API token of another system (api.tokens)")


def caller_with(authenticator: Authenticator, needed: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the authenticated caller, 401 without credentials, 403 below ``needed``."""

    async def caller(
        basic: Annotated[HTTPBasicCredentials | None, Depends(BASIC)],
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    ) -> Principal:
        principal = None
        if bearer is not None:
            principal = authenticator.by_token(bearer.credentials)
        elif basic is not None:
            principal = authenticator.by_password(basic.username, basic.password)
        if principal is None:
            raise ApiRefusalError(
                401,
                "unauthorized",
                "missing or wrong credentials: log in with a console user (HTTP basic) or"
                " send 'Authorization: Bearer <api token>'",
            )
        if not principal.may(needed):
            raise ApiRefusalError(
                403,
                "forbidden",
                f"{principal.actor} is a {principal.role}; this needs the role {needed} or higher",
                needed=str(needed),
            )
        return principal

    return caller


class Callers:
    """The three role dependencies of one authenticator, for route signatures."""

    def __init__(self, authenticator: Authenticator) -> None:
        self.viewer = Depends(caller_with(authenticator, Role.VIEWER))
        self.operator = Depends(caller_with(authenticator, Role.OPERATOR))
        self.admin = Depends(caller_with(authenticator, Role.ADMIN))
