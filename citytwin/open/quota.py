"""Who is calling the open API and how much they may: anonymous callers by address at a
low rate, outside systems by ``X-API-Key`` at their key's rate, both counted by `limits`
(a moving window in memory, per process). Over the quota: ``429`` with ``Retry-After``.

`limits` is used directly rather than through slowapi: slowapi's decorator needs a module
global ``Limiter`` and a ``request`` argument in every route, and answers 429 in its own
shape; a FastAPI dependency on the router keeps the quota on every open route, answers
ProblemDetails and takes the settings it is given.
"""

from __future__ import annotations

import hmac
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Header, Request
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from citytwin.open.problems import OpenDataError, ProblemType
from citytwin.open.settings import OpenDataSettings

logger = logging.getLogger(__name__)

API_KEY_HEADER = "X-API-Key"


@dataclass(slots=True, frozen=True)
class Caller:
    """An open-data caller: anonymous (by address) or an outside system's key (by name)."""

    name: str | None
    address: str
    rate: str

    @property
    def access(self) -> str:
        return "anonymous" if self.name is None else "api-key"


@dataclass(slots=True, frozen=True)
class _Key:
    name: str
    secret: bytes
    rate: str
    limit: RateLimitItem


class Quota:
    """The rate limits of the open API, as a FastAPI dependency (``Depends(quota)``)."""

    def __init__(self, settings: OpenDataSettings, clock: Callable[[], float] = time.time) -> None:
        self._anonymous_rate = settings.anonymous_rate
        self._anonymous = parse(settings.anonymous_rate)
        self._keys = [
            _Key(name, key.key.get_secret_value().encode(), key.rate, parse(key.rate))
            for name, key in settings.api_keys.items()
        ]
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._clock = clock

    def _key(self, given: str) -> _Key | None:
        secret = given.encode()
        found = None
        for key in self._keys:  # compare with every key: the time says nothing about which
            if hmac.compare_digest(key.secret, secret):
                found = key
        return found

    async def __call__(
        self,
        request: Request,
        api_key: Annotated[str | None, Header(alias=API_KEY_HEADER)] = None,
    ) -> Caller:
        address = request.client.host if request.client else "unknown"
        if api_key is not None:
            key = self._key(api_key)
            if key is None:
                raise OpenDataError(
                    ProblemType.UNAUTHORIZED,
                    f"the {API_KEY_HEADER} header holds no key of this service; leave it out"
                    f" for anonymous access at {self._anonymous_rate}",
                )
            caller = Caller(key.name, address, key.rate)
            item, identity = key.limit, f"key:{key.name}"
        else:
            caller = Caller(None, address, self._anonymous_rate)
            item, identity = self._anonymous, f"ip:{address}"
        if not self._limiter.hit(item, identity):
            stats = self._limiter.get_window_stats(item, identity)
            wait = max(1, math.ceil(stats.reset_time - self._clock()))
            logger.info("open data: %s over its quota %s", identity, caller.rate)
            raise OpenDataError(
                ProblemType.TOO_MANY_REQUESTS,
                f"over the quota of {caller.rate} for {caller.access} access; retry in"
                f" {wait} s" + ("" if caller.name else f" or send an {API_KEY_HEADER}"),
                headers={"Retry-After": str(wait)},
            )
        return caller
