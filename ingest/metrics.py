"""Prometheus metrics of one ingest process, in its own registry (no module globals).

The metrics name devices (dead letters, duplicates and gaps are labelled by device), so
``/metrics`` binds to loopback by default and, given a password, asks for HTTP basic
(user ``metrics``) — which the settings require for any other address.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import logging
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

logger = logging.getLogger(__name__)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class IngestMetrics:
    """Every counter ingest keeps; names start with ``citytwin_ingest_``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.messages = Counter(
            "citytwin_ingest_messages", "Messages received, by channel.", ["channel"], registry=r
        )
        self.accepted = Counter(
            "citytwin_ingest_accepted", "Messages that passed every check.", registry=r
        )
        self.points_written = Counter(
            "citytwin_ingest_points_written", "Points InfluxDB accepted.", registry=r
        )
        self.points_spooled = Counter(
            "citytwin_ingest_points_spooled", "Points written to the disk spool.", registry=r
        )
        self.points_replayed = Counter(
            "citytwin_ingest_points_replayed", "Spooled points replayed into InfluxDB.", registry=r
        )
        self.points_rejected = Counter(
            "citytwin_ingest_points_rejected",
            "Points in batches InfluxDB refused with a 4xx (logged, not retried).",
            registry=r,
        )
        self.write_retries = Counter(
            "citytwin_ingest_write_retries",
            "InfluxDB writes retried after 5xx/timeouts.",
            registry=r,
        )
        self.spool_bytes = Gauge(
            "citytwin_ingest_spool_bytes", "Bytes waiting in the disk spool.", registry=r
        )
        self.deadletters = Counter(
            "citytwin_ingest_deadletters",
            "Messages refused, by device and reason.",
            ["device", "reason"],
            registry=r,
        )
        self.duplicates = Counter(
            "citytwin_ingest_duplicates",
            "Messages dropped as duplicates (seq).",
            ["device"],
            registry=r,
        )
        self.gaps = Counter(
            "citytwin_ingest_seq_missing",
            "Sequence numbers skipped (messages the device sent that never came).",
            ["device"],
            registry=r,
        )
        self.batch_seconds = Histogram(
            "citytwin_ingest_batch_seconds",
            "Time to make one batch durable (InfluxDB write or spool).",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.lag_seconds = Histogram(
            "citytwin_ingest_lag_seconds",
            "From receiving a batch's first message to its acknowledgement.",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.device_lag_seconds = Gauge(
            "citytwin_ingest_device_lag_seconds",
            "Server time minus the device ts of the newest message of the last batch.",
            registry=r,
        )
        self.twin_patches = Counter(
            "citytwin_ingest_twin_patches", "Merge patches applied to twins.", registry=r
        )
        self.twin_failures = Counter(
            "citytwin_ingest_twin_failures",
            "Merge patches that failed, by reason.",
            ["reason"],
            registry=r,
        )
        self.twin_seconds = Histogram(
            "citytwin_ingest_twin_seconds",
            "From receiving a message to its twin patch being applied.",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.stale_devices = Gauge(
            "citytwin_ingest_stale_devices",
            "Devices silent beyond their kind's interval.",
            registry=r,
        )
        self.mqtt_connected = Gauge(
            "citytwin_ingest_mqtt_connected", "1 while connected to the broker.", registry=r
        )
        self.ready = Gauge(
            "citytwin_ingest_ready", "1 once subscribed and taking messages.", registry=r
        )
        self.queued_batches = Gauge(
            "citytwin_ingest_queued_batches", "Batches waiting for the writer.", registry=r
        )


METRICS_USER = "metrics"

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not logged."""


class _Server(ThreadingWSGIServer):
    """Thread per request; IPv6 when the address is one."""


class _Server6(_Server):
    address_family = socket.AF_INET6


def basic_auth(app: WsgiApp, password: str) -> WsgiApp:
    """``app`` behind HTTP basic: user ``metrics`` and ``password``, else 401."""
    expected = "Basic " + base64.b64encode(f"{METRICS_USER}:{password}".encode()).decode()

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        given = environ.get("HTTP_AUTHORIZATION", "")
        if hmac.compare_digest(given.encode(), expected.encode()):
            return app(environ, start_response)
        start_response(
            "401 Unauthorized",
            [("WWW-Authenticate", 'Basic realm="citytwin ingest metrics"'),
             ("Content-Type", "text/plain; charset=utf-8")],
        )  # fmt: skip
        return [b"credentials required\n"]

    return guarded


@contextlib.contextmanager
def serve_metrics(
    metrics: IngestMetrics, host: str, port: int, password: str = ""
) -> Iterator[int]:
    """Serve /metrics on ``host:port`` (0: any free port) while inside; yields the port.

    With ``password``, every request needs HTTP basic as ``metrics``.
    """
    app: WsgiApp = make_wsgi_app(metrics.registry)
    if password:
        app = basic_auth(app, password)
    server_class = _Server6 if ":" in host else _Server
    server = make_server(host, port, app, server_class, handler_class=_QuietHandler)
    bound: int = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="ingest-metrics", daemon=True)
    thread.start()
    logger.info(
        "serving Prometheus metrics on http://%s:%d/metrics (%s)",
        host,
        bound,
        "HTTP basic" if password else "no authentication",
    )
    try:
        yield bound
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
