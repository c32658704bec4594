"""Running the analytics process in a test: in this process (to look inside) or as
``python -m citytwin analytics`` (to kill it)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from analytics.alerts.lifecycle import AlertLifecycle
from analytics.alerts.model import AlertKey
from analytics.alerts.records import Alert
from analytics.alerts.settings import AlertStoreSettings
from analytics.alerts.store import AlertStore
from analytics.kpis.settings import KpiSettings
from analytics.notify.settings import NotifySettings
from analytics.service.runtime import AnalyticsRuntime
from analytics.service.service import AnalyticsService
from analytics.service.settings import AnalyticsSettings
from citytwin.accounts import ServiceRole, analytics_accounts
from tests.ingest.conftest import Site, TwinService
from tests.ingest.support import WAIT, wait_until
from tests.services import Broker, Influx, free_port
from twins.presence import PresenceEvent, presence_topic
from twins.thing_id import ThingId

ROOT = Path(__file__).resolve().parents[3]


def analytics_runtime(
    broker: Broker,
    influx: Influx,
    twins: TwinService,
    site: Site,
    state_dir: Path,
    rules_dir: Path,
    *,
    video_url: str = "",
    notify: NotifySettings | None = None,
    **settings: Any,
) -> AnalyticsRuntime:
    """A runtime of the test's own: two fresh analytics accounts, the site's database;
    ``video_url``: the camera hub snapshots are asked of."""
    feed = broker.account(ServiceRole.ANALYTICS)
    alerts = broker.account(ServiceRole.ANALYTICS)
    chosen = {
        "sites": [site.namespace],
        "rules_dir": rules_dir,
        "allowed_lateness_s": 0,
        "start_lookback_hours": 0,
        "health_port": 0,
        "export_seconds": 0.2,
        # the tests date their samples 1 s apart however slowly a loaded machine sends
        # them: event time must not follow the wall clock between two of them
        "idle_advance_seconds": 3600,
        **settings,
    }
    return AnalyticsRuntime(
        settings=AnalyticsSettings.model_validate(chosen),
        alerts=AlertStoreSettings(),
        notify=notify or NotifySettings(),
        kpis=KpiSettings(recompute_seconds=1.0),
        state_dir=state_dir,
        registry_path=site.registry_path,
        mqtt_host=broker.host,
        mqtt_port=broker.port,
        mqtt_username=feed.username,
        mqtt_password=feed.password,
        alerts_username=alerts.username,
        alerts_password=alerts.password,
        influx_url=influx.url,
        influx_database=site.database,
        influx_username=influx.username,
        influx_password=influx.password,
        influx_token="",
        twins_url=twins.url,
        twins_username=twins.username,
        twins_password=twins.password,
        video_url=video_url,
    )


class HubPublisher:
    """Publishes presence events the way the hub does: as a ``citytwin-video`` account,
    QoS 1, waiting for the broker's PUBACK."""

    def __init__(self, broker: Broker) -> None:
        account = broker.account(ServiceRole.VIDEO)
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.username_pw_set(account.username, account.password)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def send(self, event: PresenceEvent) -> None:
        info = self.client.publish(
            presence_topic(ThingId.parse(event.thing)), event.model_dump_json(), qos=1
        )
        info.wait_for_publish(WAIT)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@dataclass
class InProcess:
    """An `AnalyticsService` running on an event loop of its own, in a thread."""

    service: AnalyticsService
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    _stop: asyncio.Event | None = None
    _thread: threading.Thread | None = None
    _error: BaseException | None = None

    def start(self) -> None:
        ready = threading.Event()

        async def main() -> None:
            self._stop = asyncio.Event()
            task = asyncio.create_task(self.service.run(self._stop))
            waiter = asyncio.create_task(self.service.ready.wait())
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
            ready.set()
            await task

        def target() -> None:
            try:
                self.loop.run_until_complete(main())
            except BaseException as exc:  # reported by stop() and the waits
                self._error = exc
                ready.set()

        self._thread = threading.Thread(target=target, name="analytics-under-test", daemon=True)
        self._thread.start()
        assert ready.wait(WAIT), "the analytics service never became ready"
        self.check()

    def check(self) -> None:
        if self._error is not None:
            raise AssertionError(f"the analytics service failed: {self._error!r}") from self._error

    def call(self, make: Callable[[], Any]) -> Any:
        """Run a coroutine on the service's loop (a reload request, a health figure)."""

        async def run() -> Any:
            return await make()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(WAIT)

    def stop(self) -> None:
        if self._thread is None or self._stop is None:
            return
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(WAIT)
        self.loop.close()
        self.check()


@contextlib.contextmanager
def in_process(runtime: AnalyticsRuntime) -> Iterator[InProcess]:
    running = InProcess(AnalyticsService(runtime))
    running.start()
    try:
        yield running
    finally:
        running.stop()


class StoreReader:
    """The alert store as another process (the HTTP app) sees it."""

    def __init__(self, state_dir: Path) -> None:
        url = AlertStoreSettings().store_url(state_dir)
        self.store = wait_until(lambda: _open(url), "the alert store to exist")
        self.lifecycle = AlertLifecycle(self.store)

    def alerts_of(self, key: AlertKey) -> list[Alert]:
        return asyncio.run(self.lifecycle.alerts_of(key))

    def acknowledge(self, alert_id: str, actor: str) -> Alert:
        return asyncio.run(self.lifecycle.acknowledge(alert_id, actor=actor))

    def close(self) -> None:
        self.store.close()


def _open(url: str) -> AlertStore | None:
    if not Path(url.removeprefix("sqlite:///")).exists():
        return None
    return AlertStore.open(url)


@dataclass
class AnalyticsProcess:
    """``python -m citytwin analytics`` in a subprocess, configured by environment."""

    env: dict[str, str]
    directory: Path
    health_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    args: list[str] = field(default_factory=list)
    """Options of ``citytwin analytics`` (``--sites``, ``--worker``)."""
    name: str = "analytics"

    @classmethod
    def configured(
        cls,
        broker: Broker,
        influx: Influx,
        twins: TwinService,
        site: Site,
        directory: Path,
        rules_dir: Path,
        prefix: str,
        *,
        worker: int = 1,
        state_dir: Path | None = None,
        args: list[str] | None = None,
        name: str = "analytics",
        **settings: Any,
    ) -> AnalyticsProcess:
        """``worker``: its broker accounts; ``state_dir``: shared by processes split by
        site (default ``directory/var``); ``args``: command-line options."""
        passwords = {}
        for user in analytics_accounts(prefix, worker):
            passwords[user] = broker.account(ServiceRole.ANALYTICS, name=user).password
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "CITYTWIN_STATE_DIR": str(state_dir or directory / "var"),
            "CITYTWIN_REGISTRY": str(site.registry_path),
            "CITYTWIN_MQTT__EMBEDDED": "false",
            "CITYTWIN_MQTT__HOST": broker.host,
            "CITYTWIN_MQTT__PORT": str(broker.port),
            "CITYTWIN_MQTT__ACCOUNT_PREFIX": prefix,
            "CITYTWIN_MQTT__PASSWORDS": json.dumps(passwords),
            "CITYTWIN_INFLUX__EMBEDDED": "false",
            "CITYTWIN_INFLUX__URL": influx.url,
            "CITYTWIN_INFLUX__DATABASE": site.database,
            "CITYTWIN_INFLUX__USERNAME": influx.username,
            "CITYTWIN_INFLUX__PASSWORD": influx.password,
            "CITYTWIN_TWINS__URL": twins.url,
            "CITYTWIN_TWINS__PASSWORD": twins.password,
            "CITYTWIN_ANALYTICS__RULES_DIR": str(rules_dir),
            "CITYTWIN_ANALYTICS__SITES": json.dumps([site.namespace]),
            "CITYTWIN_ANALYTICS__ALLOWED_LATENESS_S": "0",
            "CITYTWIN_ANALYTICS__START_LOOKBACK_HOURS": "0",
            "CITYTWIN_ANALYTICS__EXPORT_SECONDS": "0.2",
            "CITYTWIN_ANALYTICS__IDLE_ADVANCE_SECONDS": "3600",
        }
        if worker > 1:
            env["CITYTWIN_MQTT__ANALYTICS_WORKERS"] = str(worker)
        for key, value in settings.items():
            env[f"CITYTWIN_ANALYTICS__{key.upper()}"] = str(value)
        env.pop("CITYTWIN_CONFIG", None)
        return cls(env, directory, args=list(args or []), name=name)

    @property
    def log(self) -> Path:
        return self.directory / f"{self.name}.log"

    def start(self) -> None:
        self.env["CITYTWIN_ANALYTICS__HEALTH_PORT"] = str(self.health_port)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "citytwin", "analytics", *self.args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )
        wait_until(lambda: self.health() is not None, "analytics to be ready", timeout=60)

    def health(self) -> dict[str, Any] | None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"analytics exited with {self.process.returncode}:\n{self.tail()}")
        try:
            url = f"http://127.0.0.1:{self.health_port}/health"
            with urllib.request.urlopen(url, timeout=5) as response:
                report: dict[str, Any] = json.load(response)
                return report
        except OSError:
            return None

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-6000:] if self.log.exists() else ""

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def hangup(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def until(predicate: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    return wait_until(predicate, what, timeout)


def monotonic() -> float:
    return time.monotonic()
