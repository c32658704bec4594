"""Camera alerts carry the video hub's picture of the moment: a simulated camera streams
over RTSP to the real hub, someone enters its restricted zone (a presence event on the
broker, as the hub publishes it), and the intrusion alert keeps the hub's JPEG as its
evidence, linked from its notice. A hub that is away costs the snapshot, not the alert."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from analytics.alerts.evidence import JPEG_MAGIC, DiskEvidenceStorage
from analytics.alerts.model import AlertKey, AlertState
from analytics.alerts.records import Action
from analytics.alerts.settings import AlertStoreSettings
from tests.analytics.service.support import (
    HubPublisher,
    StoreReader,
    analytics_runtime,
    in_process,
)
from tests.ingest.conftest import Site, TwinService
from tests.ingest.support import Watcher, wait_until
from tests.services import Broker, Influx, free_port, serve_in_thread
from tests.video.conftest import relay_server
from tests.video.streams import RtspRelay
from twins.presence import PresenceEvent
from twins.topics import PLATFORM
from twins.zones import ZoneType
from video.service import VideoRuntime, create_video_app
from video.settings import VideoSettings

__all__ = ["relay_server"]

pytestmark = pytest.mark.timeout(180)

CAMERA_RULES = """\
site: "thaibinh.*"
kind: camera
rules:
  - {id: intrusion, type: intrusion, severity: critical}
"""


@pytest.fixture
def camera_rules(rules_dir: Path) -> Path:
    (rules_dir / "flood.yaml").unlink()
    (rules_dir / "cameras.yaml").write_text(CAMERA_RULES, encoding="utf-8")
    return rules_dir


def intrusion(camera: str, at: dt.datetime, present: bool) -> PresenceEvent:
    return PresenceEvent(
        thing=camera,
        zone="yard",
        zone_type=ZoneType.RESTRICTED,
        present=present,
        people=1 if present else 0,
        at=at,
        watched=True,
    )


@contextlib.contextmanager
def video_hub(camera: str, twins: TwinService) -> Iterator[str]:
    """The real hub pulling ``camera`` (its stream URL read from the twin)."""
    runtime = VideoRuntime(
        settings=VideoSettings(),
        cameras=[camera],
        twins_url=twins.url,
        twins_username=twins.username,
        twins_password=twins.password,
    )
    with serve_in_thread(create_video_app(runtime), free_port()) as url:
        yield url


def notices(watcher: Watcher, alert_id: str) -> list[dict[str, Any]]:
    return [payload for topic, payload in watcher.json() if topic.endswith(f"/{alert_id}")]


def test_an_intrusion_keeps_the_hubs_snapshot_and_its_notice_links_it(
    broker: Broker,
    influx: Influx,
    twin_service: TwinService,
    make_site: Callable[..., Site],
    relay_server: RtspRelay,
    camera_rules: Path,
    tmp_path: Path,
) -> None:
    site = make_site([("cam-01", "camera")])
    camera = f"{site.namespace}:cam-01"
    path = f"{site.namespace}/cam-01"
    with twin_service.client() as client:
        client.put(camera, "features/stream/properties/url", relay_server.url(path))
    relay_server.publish(path)
    relay_server.wait_published(path)
    state_dir = tmp_path / "var"
    watcher = Watcher(broker, f"{PLATFORM}/alerts/{site.namespace}/#")
    hub_events = HubPublisher(broker)
    key = AlertKey("intrusion", camera, "yard")
    with video_hub(camera, twin_service) as hub_url:
        wait_until(
            lambda: _snapshot_ready(hub_url, camera, twin_service), "the hub's first picture"
        )
        runtime = analytics_runtime(
            broker, influx, twin_service, site, state_dir, camera_rules, video_url=hub_url
        )
        with in_process(runtime) as running:
            reader = StoreReader(state_dir)
            try:
                entered = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30)
                hub_events.send(intrusion(camera, entered, present=True))
                (alert,) = wait_until(
                    lambda: [a for a in reader.alerts_of(key) if a.evidence_path],
                    "the alert with its evidence",
                )
                assert alert.state is AlertState.OPEN
                jpeg = DiskEvidenceStorage(AlertStoreSettings().evidence_root(state_dir)).read(
                    alert.evidence_path or ""
                )
                assert jpeg.startswith(JPEG_MAGIC)
                assert len(jpeg) > 1000  # a picture of the test pattern, not an empty frame
                history = [e.action for e in asyncio.run(reader.lifecycle.history(alert.id))]
                assert history[:2] == [Action.OPENED, Action.EVIDENCE]

                (opened,) = wait_until(lambda: notices(watcher, alert.id), "the opened notice")
                assert opened["transition"] == "opened"
                assert opened["evidence_url"] == f"/api/alerts/{alert.id}/evidence"
                assert running.service.health_report()["snapshots"]["kept"] == 1
            finally:
                reader.close()
                hub_events.close()
                watcher.close()


def test_a_hub_that_is_away_costs_the_snapshot_not_the_alert(
    broker: Broker,
    influx: Influx,
    twin_service: TwinService,
    make_site: Callable[..., Site],
    camera_rules: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    site = make_site([("cam-01", "camera")])
    camera = f"{site.namespace}:cam-01"
    state_dir = tmp_path / "var"
    watcher = Watcher(broker, f"{PLATFORM}/alerts/{site.namespace}/#")
    hub_events = HubPublisher(broker)
    key = AlertKey("intrusion", camera, "yard")
    nobody = f"http://127.0.0.1:{free_port()}"  # no hub listens there
    runtime = analytics_runtime(
        broker, influx, twin_service, site, state_dir, camera_rules, video_url=nobody
    )
    caplog.set_level("WARNING", logger="analytics.service.snapshots")
    with in_process(runtime) as running:
        reader = StoreReader(state_dir)
        try:
            entered = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30)
            hub_events.send(intrusion(camera, entered, present=True))
            (alert,) = wait_until(lambda: reader.alerts_of(key), "the intrusion alert")
            (opened,) = wait_until(lambda: notices(watcher, alert.id), "the opened notice")
            assert opened["evidence_url"] is None
            assert wait_until(
                lambda: running.service.health_report()["snapshots"]["failed"] == 1,
                "the failed snapshot",
            )
            assert reader.alerts_of(key)[0].evidence_path is None
            (warning,) = [r for r in caplog.records if "no snapshot" in r.getMessage()]
            assert camera in warning.getMessage()
            assert alert.id in warning.getMessage()

            # the alert lives on: the yard empties and it resolves
            hub_events.send(intrusion(camera, entered + dt.timedelta(seconds=5), present=False))
            assert wait_until(
                lambda: reader.alerts_of(key)[0].state is AlertState.RESOLVED, "the resolution"
            )
        finally:
            reader.close()
            hub_events.close()
            watcher.close()


def _snapshot_ready(hub_url: str, camera: str, twins: TwinService) -> bool:
    response = httpx.get(
        f"{hub_url}/api/cameras/{camera}/snapshot.jpg",
        auth=(twins.username, twins.password),
        timeout=10,
    )
    return response.status_code == 200
