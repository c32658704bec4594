"""``GET /health`` of the analytics process: 200 with its figures once it has caught up.

`citytwin up` waits for it before calling the process started, and `citytwin status`
shows it. A small WSGI server in a thread (the standard library's, as ingest's /metrics):
one request every few seconds needs no framework, and it answers even while the event
loop is busy replaying.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

logger = logging.getLogger(__name__)

Report = Callable[[], tuple[bool, dict[str, Any]]]
"""``(ready, figures)``: ready once the feed has caught up."""


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("health: %s", format % args)


@contextmanager
def serve_health(report: Report, host: str, port: int) -> Iterator[int]:
    """Serve ``/health`` on ``host:port`` (0: any free port) while inside; yields the port."""

    def app(environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/health":
            start("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        ready, figures = report()
        body = json.dumps({"ready": ready, **figures}, default=str).encode()
        status = "200 OK" if ready else "503 Service Unavailable"
        start(status, [("Content-Type", "application/json"), ("Cache-Control", "no-store")])
        return [body]

    server: WSGIServer = make_server(host, port, app, handler_class=_QuietHandler)
    bound: int = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="analytics-health", daemon=True)
    thread.start()
    logger.info("analytics health on http://%s:%d/health", host, bound)
    try:
        yield bound
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
