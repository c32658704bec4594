"""Reading an HTTP request body with a size cap, without holding more than the cap.

The declared ``Content-Length`` is checked first; the body is then streamed and refused as
soon as it passes the cap (a chunked body declares no length). Shared by the twin API and
the HTTP ingest route, each of which turns `BodyTooLargeError` into its own 413 answer.
"""

from __future__ import annotations

from starlette.requests import Request

from twins.errors import TwinsError


class BodyTooLargeError(TwinsError):
    """A request body is over its cap; ``size`` is what was declared or read so far."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"the request body is {size} bytes or more; at most {limit} are allowed")
        self.size = size
        self.limit = limit


async def read_body(request: Request, limit: int) -> bytes:
    """The body of ``request``; `BodyTooLargeError` once it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError(int(declared), limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError(size, limit)
        chunks.append(chunk)
    return b"".join(chunks)
