"""Short-lived viewer tokens: the console signs them for an operator, the hub verifies them.

The console (``citytwin serve``) and the hub (``citytwin video``) are different origins, so
a browser logged in to the console does not send that login to the hub. The console
instead hands the wall page a token naming the operator and the cameras their twin policy
lets them read, valid for a bounded time and signed with a key both processes read from
the state dir (``secrets/video-token-key``). The hub needs no twin request to accept it.

Format: ``ct1.<payload>.<signature>``: the payload is base64url JSON
``{"sub": user, "cams": [thing ids], "exp": unix seconds}``, the signature base64url
HMAC-SHA256 of ``ct1.<payload>`` under the key. One algorithm, fixed by the prefix, so
there is no algorithm field to negotiate (JWT's ``alg`` pitfalls do not arise).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from video.errors import NotAuthenticatedError

PREFIX = "ct1"

Clock = Callable[[], float]


class ViewerGrant(BaseModel):
    """What a token lets its bearer watch, and until when."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sub: str = Field(min_length=1, description="The operator the console signed it for.")
    cams: tuple[str, ...] = Field(description="Thing ids of the cameras it may watch.")
    exp: int = Field(description="Expiry, Unix seconds.")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """Signs and verifies viewer tokens with one key (``clock`` is injectable for tests)."""

    def __init__(self, key: str, clock: Clock = time.time) -> None:
        if not key:
            raise ValueError("the viewer token key is empty")
        self._key = key.encode()
        self._clock = clock

    def _signature(self, signed: str) -> str:
        return _b64(hmac.new(self._key, signed.encode(), hashlib.sha256).digest())

    def sign(self, user: str, cameras: Iterable[str], lifetime_seconds: float) -> str:
        """A token for ``user`` to watch ``cameras`` for ``lifetime_seconds`` from now."""
        grant = ViewerGrant(
            sub=user, cams=tuple(cameras), exp=int(self._clock() + lifetime_seconds)
        )
        payload = _b64(grant.model_dump_json().encode())
        signed = f"{PREFIX}.{payload}"
        return f"{signed}.{self._signature(signed)}"

    def verify(self, token: str) -> ViewerGrant:
        """The grant of a token signed with this key and not expired, else an auth error."""
        prefix, _, rest = token.partition(".")
        payload, _, signature = rest.partition(".")
        if prefix != PREFIX or not payload or not signature:
            raise NotAuthenticatedError(f"the bearer token is not a {PREFIX} viewer token")
        if not hmac.compare_digest(signature, self._signature(f"{PREFIX}.{payload}")):
            raise NotAuthenticatedError("the viewer token's signature is wrong")
        try:
            grant = ViewerGrant.model_validate(json.loads(_unb64(payload)))
        except (binascii.Error, ValueError, ValidationError):
            raise NotAuthenticatedError("the viewer token's payload is malformed") from None
        if grant.exp <= self._clock():
            expired = datetime.fromtimestamp(grant.exp, UTC).isoformat()
            raise NotAuthenticatedError(f"the viewer token of {grant.sub!r} expired at {expired}")
        return grant

    @staticmethod
    def looks_signed(token: str) -> bool:
        """Whether ``token`` is in this format (rather than a named ``video.tokens`` one)."""
        return token.startswith(PREFIX + ".")
