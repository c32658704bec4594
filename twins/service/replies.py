"""What a twin-service operation gives back to the HTTP layer."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True, frozen=True)
class Reply:
    """JSON body bytes (None: no body), ETag, and whether the request created something."""

    body: bytes | None
    etag: str | None = None
    created: bool = False
    location: str | None = None
