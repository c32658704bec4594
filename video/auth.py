"""Who may watch: a WHEP player's bearer token, or an operator's twin user.

Operators log in to the console with their twin user (HTTP basic); the same credentials
open a WHEP session when the camera's twin lets that user read it — the relay asks the
twin service (``GET /api/2/things/{camera}`` as the operator), so the twin's policy is the
one place that says who sees a camera. Players that are not the console (OBS, GStreamer's
``whepsrc``, another operations centre) get a bearer token from ``video.tokens``. The
console's camera wall, on another origin, sends a short-lived token it signed for the
logged-in operator (``video.tokens``' format is a name's secret; the wall's is
``video.tokens.TokenSigner``'s, listing the cameras that operator may read).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
from collections.abc import Callable, Mapping

from pydantic import SecretStr

from twins.client import DittoClient
from twins.errors import (
    DittoError,
    DittoForbiddenError,
    DittoNotFoundError,
    DittoUnauthorizedError,
)
from video.errors import NotAllowedError, NotAuthenticatedError, VideoError
from video.tokens import TokenSigner

OperatorClient = Callable[[str, str], DittoClient]
"""Builds a twin client for an operator's user name and password."""


class ViewerAuth:
    """Checks the ``Authorization`` header of a request to watch a camera."""

    def __init__(
        self,
        tokens: Mapping[str, SecretStr],
        operator_client: OperatorClient,
        signer: TokenSigner | None = None,
    ) -> None:
        self._tokens = {name: token.get_secret_value().encode() for name, token in tokens.items()}
        self._operator_client = operator_client
        self._signer = signer

    async def viewer(self, authorization: str | None, camera: str) -> str:
        """The viewer's name (``token:NAME`` or ``user:NAME``) or an auth error."""
        if not authorization:
            raise NotAuthenticatedError("log in (HTTP basic, a twin user) or send a bearer token")
        scheme, _, value = authorization.partition(" ")
        match scheme.lower():
            case "bearer":
                token = value.strip()
                if self._signer is not None and TokenSigner.looks_signed(token):
                    return self._signed_viewer(token, camera)
                return self._token_viewer(token)
            case "basic":
                user, password = _basic(value.strip())
                await asyncio.to_thread(self._may_read, user, password, camera)
                return f"user:{user}"
        raise NotAuthenticatedError(
            f"unsupported authorization scheme {scheme!r}; use Bearer or Basic"
        )

    def _token_viewer(self, token: str) -> str:
        given = token.encode()
        for name, expected in self._tokens.items():
            if hmac.compare_digest(given, expected):
                return f"token:{name}"
        raise NotAuthenticatedError("the bearer token is not one of video.tokens")

    def _signed_viewer(self, token: str, camera: str) -> str:
        assert self._signer is not None
        grant = self._signer.verify(token)
        if camera not in grant.cams:
            raise NotAllowedError(f"the viewer token of {grant.sub!r} does not list {camera!r}")
        return f"wall:{grant.sub}"

    def _may_read(self, user: str, password: str, camera: str) -> None:
        with self._operator_client(user, password) as client:
            try:
                client.get(camera, "", fields="thingId")
            except DittoUnauthorizedError:
                raise NotAuthenticatedError(f"user {user!r}: wrong user name or password") from None
            except (DittoNotFoundError, DittoForbiddenError):
                raise NotAllowedError(f"user {user!r} may not watch camera {camera!r}") from None
            except DittoError as exc:
                raise VideoError(f"the twin service cannot check user {user!r}: {exc}") from exc


def _basic(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise NotAuthenticatedError(
            "the basic credentials are not base64 of user:password"
        ) from None
    user, sep, password = decoded.partition(":")
    if not sep or not user:
        raise NotAuthenticatedError("the basic credentials are not user:password")
    return user, password
