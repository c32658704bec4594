"""How long a notice takes to reach the alerts topic, a webhook and an apprise channel.

    .venv/bin/python benchmarks/notify_bench.py [--count 1000] [--rates 20,200]
                                                [--targets mqtt,webhook,apprise]

A real Mosquitto and an observer process (a Starlette receiver under uvicorn and a paho
subscriber to ``citytwin/$platform/alerts/#``) record when each notice arrives; the
benchmark process runs a `Notifier` with the alerts topic, one webhook and one apprise
``json://`` channel, and hands it ``--count`` notices at each rate of ``--rates`` (notices
per second). Latency is arrival − the notice's ``at`` (both wall clocks of this machine).

Baselines in the same run, at the same rate, to the same observer: a bare aiomqtt QoS 1
publish, and a bare httpx POST, each from one loop — what any notifier would pay for the
broker hop and the HTTP hop. Also the CPU time of the benchmark process per notice.

Prints its figures. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiomqtt
import httpx
import orjson
import paho.mqtt.client as mqtt
import uvicorn
import uvloop
from paho.mqtt.enums import CallbackAPIVersion
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from analytics.alerts.model import AlertState, RuleType, Severity
from analytics.notify.mqtt import BrokerLogin
from analytics.notify.notice import AlertNotice, Transition
from analytics.notify.service import Notifier
from analytics.notify.settings import NotifySettings
from citytwin.accounts import ServiceRole
from tests.services import free_port, start_broker, wait_for_port
from twins.topics import PLATFORM


def observe(http_port: int, broker: tuple[str, int, str, str]) -> None:
    """The observer process: records (channel, alert id) → arrival wall time."""
    arrivals: dict[str, float] = {}
    lock = threading.Lock()

    def record(channel: str, alert_id: str) -> None:
        with lock:
            arrivals.setdefault(f"{channel}:{alert_id}", time.time())

    async def hook(request: Request) -> Response:
        body = orjson.loads(await request.body())
        channel = request.path_params["channel"]
        if channel == "apprise":
            alert_id = body["message"].rsplit("Alert id: ", 1)[1]
        elif channel == "raw-http":
            alert_id = body["alert_id"]
        else:
            alert_id = body["data"]["alert_id"]
        record(channel, alert_id)
        return Response(status_code=204)

    async def stats(request: Request) -> Response:
        with lock:
            return JSONResponse(dict(arrivals))

    host, port, username, password = broker
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=username, protocol=mqtt.MQTTv5)
    client.username_pw_set(username, password)

    def on_message(_c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        if message.payload and not message.retain:
            kind = "raw-mqtt" if message.topic.endswith("/raw") else "mqtt"
            record(kind, orjson.loads(message.payload)["alert_id"])

    client.on_message = on_message
    client.on_connect = lambda c, *_: c.subscribe(f"{PLATFORM}/#", qos=1)
    client.connect(host, port)
    client.loop_start()
    app = Starlette(
        routes=[Route("/hook/{channel}", hook, methods=["POST"]), Route("/stats", stats)]
    )
    uvicorn.run(app, host="127.0.0.1", port=http_port, log_level="warning")


def notice(alert_id: str) -> AlertNotice:
    now = datetime.now(UTC)
    return AlertNotice(
        alert_id=alert_id, rule="desk-absence", device="bench.site:counter-01", zone="desk",
        rule_type=RuleType.OFFICER_ABSENCE, state=AlertState.OPEN, transition=Transition.OPENED,
        severity=Severity.MAJOR, site="bench.site", sector="public_administration",
        opened_at=now, at=now, message_vi="Quầy 1 vắng cán bộ", message_en="Counter 1 unstaffed",
    )  # fmt: skip


async def paced(count: int, rate: float, send: Any) -> dict[str, float]:
    """Call ``send(alert_id)`` ``count`` times at ``rate``/s; alert id → send wall time."""
    sent: dict[str, float] = {}
    start = time.monotonic()
    for index in range(count):
        delay = start + index / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        alert_id = f"a-{uuid.uuid4().hex[:12]}"
        sent[alert_id] = time.time()
        await send(alert_id)
    return sent


async def arrivals(url: str, expected: int, within: float = 120) -> dict[str, float]:
    async with httpx.AsyncClient() as client:
        deadline = time.monotonic() + within
        while True:
            found: dict[str, float] = (await client.get(f"{url}/stats")).json()
            if len(found) >= expected or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.2)


def percentiles(latencies: list[float]) -> str:
    if not latencies:
        return "none arrived"
    ms = sorted(x * 1000 for x in latencies)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"p50 {statistics.median(ms):7.1f} ms  p99 {p99:7.1f} ms  max {ms[-1]:7.1f} ms"


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="notify-bench-") as tmp:
        broker = start_broker(Path(tmp) / "mosquitto")
        try:
            observer_account = broker.account()
            analytics = broker.account(role=ServiceRole.ANALYTICS)
            raw = broker.account()
            http_port = free_port()
            observer = multiprocessing.get_context("spawn").Process(
                target=observe,
                args=(http_port, (broker.host, broker.port, observer_account.username,
                                  observer_account.password)),
                daemon=True,
            )  # fmt: skip
            observer.start()
            wait_for_port(http_port)
            url = f"http://127.0.0.1:{http_port}"
            await asyncio.sleep(1.0)  # the observer's subscription
            for rate in args.rates:
                await measure(
                    args.count, rate, args.targets, url, broker, analytics, raw, Path(tmp)
                )
            observer.terminate()
        finally:
            broker.managed.stop()


async def measure(
    count: int,
    rate: float,
    targets: list[str],
    url: str,
    broker: Any,
    analytics: Any,
    raw: Any,
    tmp: Path,
) -> None:
    config: dict[str, Any] = {"mqtt": {"enabled": "mqtt" in targets}}
    if "webhook" in targets:
        config["webhooks"] = {"bench": {"url": f"{url}/hook/webhook", "secret": "x" * 32}}
    if "apprise" in targets:
        config["channels"] = {
            "bench": {"urls": [url.replace("http://", "json://") + "/hook/apprise"]}
        }
    settings = NotifySettings.model_validate(config)
    login = BrokerLogin(broker.host, broker.port, analytics.username, analytics.password)
    before = await arrivals(url, 0)
    async with Notifier(settings, dead_letters=tmp / "dead.jsonl", broker=login) as notifier:
        task = asyncio.create_task(notifier.run())
        await asyncio.sleep(0.5)

        async def send(alert_id: str) -> None:
            notifier.notify(notice(alert_id))

        cpu = time.process_time()
        sent = await paced(count, rate, send)
        await notifier.drain()
        cpu = time.process_time() - cpu
        task.cancel()
    async with aiomqtt.Client(
        broker.host, broker.port, username=raw.username, password=raw.password,
        identifier=raw.username,
    ) as client, httpx.AsyncClient() as http:  # fmt: skip

        async def send_mqtt(alert_id: str) -> None:
            body = orjson.dumps({"alert_id": alert_id})
            await client.publish(f"{PLATFORM}/bench/raw", body, qos=1)

        async def send_http(alert_id: str) -> None:
            await http.post(f"{url}/hook/raw-http", content=orjson.dumps({"alert_id": alert_id}))

        raw_cpu = time.process_time()
        raw_mqtt = await paced(count, rate, send_mqtt)
        raw_cpu_mqtt = time.process_time() - raw_cpu
        raw_cpu = time.process_time()
        raw_http = await paced(count, rate, send_http)
        raw_cpu_http = time.process_time() - raw_cpu
    found = await arrivals(url, len(before) + (len(targets) + 2) * count)
    print(
        f"\n{count} notices at {rate:g}/s to {', '.join(targets)};"
        f" notifier CPU {cpu / count * 1e6:.0f} µs per notice (bare publish"
        f" {raw_cpu_mqtt / count * 1e6:.0f} µs, bare POST {raw_cpu_http / count * 1e6:.0f} µs)"
    )
    rows: list[tuple[str, dict[str, float]]] = [
        *((target, sent) for target in targets),
        ("raw-mqtt", raw_mqtt),
        ("raw-http", raw_http),
    ]
    p99s: dict[str, float] = {}
    for channel, times in rows:
        latencies = [
            found[f"{channel}:{a}"] - t for a, t in times.items() if f"{channel}:{a}" in found
        ]
        ms = sorted(latencies)
        p99s[channel] = ms[min(len(ms) - 1, int(len(ms) * 0.99))] if ms else float("nan")
        print(f"  {channel:9s} {len(latencies):5d} arrived  {percentiles(latencies)}")
    if "mqtt" in p99s:
        print(f"  p99 ratio alerts topic / bare publish {p99s['mqtt'] / p99s['raw-mqtt']:.2f}")
    if "webhook" in p99s:
        print(f"  p99 ratio webhook / bare POST {p99s['webhook'] / p99s['raw-http']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument(
        "--rates", type=lambda text: [float(r) for r in text.split(",")], default=[20.0, 200.0]
    )
    parser.add_argument(
        "--targets",
        type=lambda text: text.split(","),
        default=["mqtt", "webhook", "apprise"],
        help="which of mqtt, webhook, apprise the notifier has",
    )
    args = parser.parse_args()
    print(f"notify_bench {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    uvloop.run(run(args))


if __name__ == "__main__":
    main()
