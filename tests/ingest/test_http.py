"""HTTP ingest: another system posts an envelope; it lands in InfluxDB through MQTT."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiomqtt
import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from citytwin.accounts import ServiceRole
from ingest.http import IngestPublisher, create_ingest_router
from ingest.settings import HttpIngestSystem, IngestSettings
from tests.ingest.conftest import Site
from tests.ingest.support import IngestProcess, influx_rows, wait_until
from tests.services import Broker, Influx, free_port

pytestmark = pytest.mark.timeout(120)


class _ThreadServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:
        pass


@pytest.fixture
def publisher(broker: Broker) -> IngestPublisher:
    """The HTTP ingest's MQTT publisher, closed by the app's lifespan (as citytwin's is),
    with an account of the HTTP app's role."""
    account = broker.account(ServiceRole.HTTP)
    return IngestPublisher(
        host=broker.host,
        port=broker.port,
        username=account.username,
        password=account.password,
    )


@pytest.fixture
def http_ingest(
    broker: Broker, make_site: Callable[..., Site], publisher: IngestPublisher
) -> Iterator[tuple[str, Site]]:
    site = make_site([("queue-1", "counter"), ("kiosk-1", "kiosk")], twins=False)
    settings = IngestSettings(
        http_systems={
            "queue-system": HttpIngestSystem(
                password=SecretStr("queue-pass"), namespaces=[site.namespace]
            ),
            "calendar": HttpIngestSystem(api_key=SecretStr("cal-key"), namespaces=["other.site"]),
        }
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with publisher:
            yield

    app = FastAPI(lifespan=lifespan)
    app.include_router(
        create_ingest_router(
            settings=settings,
            registry_path=site.registry_path,
            mqtt_host=broker.host,
            mqtt_port=broker.port,
            mqtt_username="unused",  # the publisher given is used instead
            mqtt_password="unused",
            publisher=publisher,
        )
    )
    port = free_port()
    server = _ThreadServer(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}", site
    server.should_exit = True
    thread.join(10)


def test_posted_envelope_lands_in_influx(
    influx: Influx,
    http_ingest: tuple[str, Site],
    make_ingest: Callable[..., IngestProcess],
) -> None:
    url, site = http_ingest
    make_ingest(site, twins=False)
    ts = int(time.time() * 1000)
    response = httpx.post(
        f"{url}/ingest/{site.namespace}/queue-1/event",
        json={
            "ts": ts,
            "seq": 5,
            "data": {"type": "ticket_called", "ticket": "B17", "service": "land"},
        },
        auth=("queue-system", "queue-pass"),
    )
    assert response.status_code == 202, response.text
    rows = wait_until(
        lambda: influx_rows(influx, site.database, "SELECT * FROM counter_event"), "the event"
    )
    assert [(r["device"], r["type"], r["ticket"], r["service"], r["time"]) for r in rows] == [
        ("queue-1", "ticket_called", "B17", "land", ts)
    ]


@pytest.mark.parametrize(
    ("path", "auth", "body", "status", "error"),
    [
        ("queue-1/telemetry", None, {"seq": 1, "data": {}}, 401, "unauthorized"),
        ("queue-1/telemetry", ("queue-system", "wrong"), {}, 401, "unauthorized"),
        ("queue-1/telemetry", "Bearer cal-key", {}, 403, "forbidden"),
        ("nobody/telemetry", ("queue-system", "queue-pass"), {}, 404, "unknown_device"),
        ("queue-1/cmd", ("queue-system", "queue-pass"), {}, 404, "unknown_channel"),
        (
            "queue-1/telemetry",
            ("queue-system", "queue-pass"),
            {"seq": 1, "data": {"waiting": -1, "officer_present": True}},
            422,
            "schema",
        ),
        (
            "kiosk-1/telemetry",
            ("queue-system", "queue-pass"),
            {"seq": 1, "ts": 1, "data": {"queue_length": 2}},
            422,
            "ts_past",
        ),
        (
            "kiosk-1/telemetry",
            ("queue-system", "queue-pass"),
            {"seq": 1, "data": {"queue_length": 2}, "pad": "x" * 20_000},
            413,
            "too_large",
        ),
    ],
)
def test_refusals_say_what_and_where(
    http_ingest: tuple[str, Site],
    path: str,
    auth: Any,
    body: dict[str, Any],
    status: int,
    error: str,
) -> None:
    url, site = http_ingest
    headers = {"Authorization": auth} if isinstance(auth, str) else {}
    response = httpx.post(
        f"{url}/ingest/{site.namespace}/{path}",
        json=body,
        auth=auth if isinstance(auth, tuple) else None,
        headers=headers,
    )
    assert response.status_code == status, response.text
    answer = response.json()
    assert answer["error"] == error
    assert answer["where"] == f"/ingest/{site.namespace}/{path}"
    assert answer["message"]


@pytest.mark.parametrize(
    ("body", "error", "says"),
    [
        (b'{"seq":1,"data":{"queue_length":NaN}}', "not_finite", "data.queue_length"),
        (b'{"seq":"300001","data":{"queue_length":2}}', "schema", "seq: "),
        (b'{"seq":300002.0,"data":{"queue_length":2}}', "schema", "seq: "),
        (b'{"seq":1,"data":{"queue_length":2,"paper_ok":"yes"}}', "schema", "data.paper_ok"),
        (b'{"seq":1,"seq":2,"data":{"queue_length":2}}', "schema", "seq: key appears twice"),
        (b'{"seq":1,"data":{"queue_length":', "not_json", "not valid JSON"),
    ],
)
def test_http_refuses_with_the_reason_codes_of_mqtt_dead_letters(
    http_ingest: tuple[str, Site], body: bytes, error: str, says: str
) -> None:
    url, site = http_ingest
    response = httpx.post(
        f"{url}/ingest/{site.namespace}/kiosk-1/telemetry",
        content=body,
        auth=("queue-system", "queue-pass"),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"] == error
    assert says in response.json()["message"]


def test_one_mqtt_connection_serves_every_request_and_survives_a_broker_restart(
    broker: Broker, http_ingest: tuple[str, Site], publisher: IngestPublisher
) -> None:
    url, site = http_ingest

    def post(seq: int) -> httpx.Response:
        return httpx.post(
            f"{url}/ingest/{site.namespace}/kiosk-1/telemetry",
            json={"seq": seq, "data": {"queue_length": seq}},
            auth=("queue-system", "queue-pass"),
            timeout=30,
        )

    for seq in (1, 2, 3):
        assert post(seq).status_code == 202
    assert publisher.connections == 1
    broker.managed.restart()
    response = post(4)
    assert response.status_code == 202, response.text
    assert post(5).status_code == 202
    assert publisher.connections == 2


def _raw_post(url: str, path: str, headers: list[str], body: bytes) -> bytes:
    """Send a request by hand (the body may be cut short) and read the answer."""
    host, port = url.removeprefix("http://").split(":")
    credentials = base64.b64encode(b"queue-system:queue-pass").decode()
    head = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Authorization: Basic {credentials}"]
    request = "\r\n".join([*head, *headers, "", ""]).encode() + body
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)  # a server still reading the body never answers
            if not chunk:
                break
            answer += chunk
    return answer


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        (["Content-Length: 1000000000"], b"{" + b" " * 4096),
        (["Transfer-Encoding: chunked"], b"".join([b"1000\r\n" + b" " * 4096 + b"\r\n"] * 6)),
    ],
    ids=["declared", "streamed"],
)
def test_an_oversized_body_is_refused_without_reading_it_all(
    http_ingest: tuple[str, Site], headers: list[str], body: bytes
) -> None:
    url, site = http_ingest
    path = f"/ingest/{site.namespace}/kiosk-1/telemetry"
    answer = _raw_post(url, path, ["Content-Type: application/json", *headers], body)
    status_line, _, rest = answer.partition(b"\r\n")
    assert b" 413 " in status_line, answer[:300]
    assert b'"too_large"' in rest
    assert b"16384" in rest


def test_a_broken_registry_file_keeps_answering_from_the_last_good_one(
    http_ingest: tuple[str, Site],
) -> None:
    url, site = http_ingest
    site.registry_path.write_text(site.registry_path.read_text() + "  - {name: [broken\n")
    response = httpx.post(
        f"{url}/ingest/{site.namespace}/kiosk-1/telemetry",
        json={"seq": 1, "data": {"queue_length": 1}},
        auth=("queue-system", "queue-pass"),
    )
    assert response.status_code == 202, response.text
    site.registry_path.unlink()
    response = httpx.post(
        f"{url}/ingest/{site.namespace}/kiosk-1/telemetry",
        json={"seq": 2, "data": {"queue_length": 2}},
        auth=("queue-system", "queue-pass"),
    )
    assert response.status_code == 202, response.text


def test_requests_behind_a_failed_connect_fail_at_once(broker: Broker) -> None:
    """A broker that accepts TCP but never answers: one connect attempt, not one each."""
    accepted: list[socket.socket] = []
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]

        def accept() -> None:
            with contextlib.suppress(OSError):
                while True:
                    accepted.append(silent.accept()[0])

        threading.Thread(target=accept, daemon=True).start()

        async def five_requests() -> list[BaseException | None]:
            async with IngestPublisher(
                host="127.0.0.1",
                port=port,
                username="citytwin-http",
                password="never-checked",
                timeout=1.0,
            ) as publisher:
                return await asyncio.gather(
                    *(publisher.publish("citytwin/x/y/telemetry", b"{}") for _ in range(5)),
                    return_exceptions=True,
                )

        outcomes = asyncio.run(five_requests())
    for connection in accepted:
        connection.close()
    assert all(isinstance(outcome, aiomqtt.MqttError) for outcome in outcomes), outcomes
    assert len(accepted) == 1, "each waiting request connected again"
