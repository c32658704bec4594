"""The registry followed without a restart: a desk camera added to the registry file and the
twins (as ``citytwin provision`` adds it) is judged at once — its desk zone decides the
officer's absence — where before the reload its presence events reached no counter; a
broken registry file is named and the previous registry stays."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from analytics.alerts.model import AlertKey
from tests.analytics.service.support import (
    HubPublisher,
    StoreReader,
    analytics_runtime,
    in_process,
)
from tests.ingest.conftest import Site, TwinService
from tests.ingest.support import Device, IngestProcess, create_twins, wait_until
from tests.services import Broker, Influx
from twins.presence import PresenceEvent
from twins.registry import Registry
from twins.zones import ZoneType

pytestmark = pytest.mark.timeout(180)

DESK_RULES = """\
site: "thaibinh.*"
kind: counter
rules:
  - {id: desk-absence, type: officer_absence, minutes: 1, severity: major}
"""
ALWAYS_OPEN = """\
calendars:
  office:
    days: [mon, tue, wed, thu, fri, sat, sun]
    hours: ["00:00-23:59:59.999999"]
    public_holidays: null
"""


def with_desk_camera(path: Path, namespace: str) -> Registry:
    """The registry file with ``cam-desk-01`` watching ``counter-01`` added to the site."""
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    spec["sites"][0]["devices"].append(
        {"name": "cam-desk-01", "kind": "camera", "attributes": {"watches": "counter-01"}}
    )
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return Registry.load(path)


def desk(camera: str, at_ms: int, present: bool) -> PresenceEvent:
    return PresenceEvent(
        thing=camera,
        zone="desk",
        zone_type=ZoneType.DESK,
        present=present,
        people=1 if present else 0,
        at=dt.datetime.fromtimestamp(at_ms / 1000, dt.UTC),
        watched=True,
    )


def test_a_desk_camera_added_to_the_registry_is_judged_without_a_restart(
    broker: Broker,
    influx: Influx,
    twin_service: TwinService,
    make_site: Callable[..., Site],
    make_ingest: Callable[..., IngestProcess],
    rules_dir: Path,
    tmp_path: Path,
) -> None:
    (rules_dir / "flood.yaml").write_text(DESK_RULES, encoding="utf-8")
    (rules_dir / "calendars.yaml").write_text(ALWAYS_OPEN, encoding="utf-8")
    site = make_site([("counter-01", "counter")])
    counter, camera = f"{site.namespace}:counter-01", f"{site.namespace}:cam-desk-01"
    make_ingest(site)
    state_dir = tmp_path / "var"
    runtime = analytics_runtime(
        broker, influx, twin_service, site, state_dir, rules_dir, rules_poll_seconds=3600
    )
    key = AlertKey("desk-absence", counter)
    device = Device(broker, counter)
    hub = HubPublisher(broker)
    t0 = int(time.time() * 1000) - 600_000
    with in_process(runtime) as running:
        service = running.service
        reader = StoreReader(state_dir)

        def committed_past(ts: int) -> bool:
            return (service.health_report().get("committed_ms") or 0) >= ts

        def sighup() -> None:
            running.loop.call_soon_threadsafe(service.reload_requested.set)

        try:
            # the counter says its officer is there; the camera, unknown, says the desk is
            # empty: its presence reaches no counter
            device.send("telemetry", {"waiting": 3, "officer_present": True}, ts=t0)
            hub.send(desk(camera, t0 + 1000, present=False))
            device.send("telemetry", {"waiting": 3, "officer_present": True}, ts=t0 + 120_000)
            device.send("telemetry", {"waiting": 3, "officer_present": True}, ts=t0 + 121_000)
            wait_until(lambda: committed_past(t0 + 120_000), "the first two minutes judged")
            assert reader.alerts_of(key) == []

            # a broken registry file: named, and the registry in force stays
            good = site.registry_path.read_text(encoding="utf-8")
            site.registry_path.write_text(good + "  - {name: [oops\n", encoding="utf-8")
            sighup()
            errors = wait_until(
                lambda: service.health_report()["registry_errors"], "the registry error"
            )
            assert str(site.registry_path) in errors[0]
            assert service.health_report()["registry_devices"] == 1
            site.registry_path.write_text(good, encoding="utf-8")

            # provisioning adds the desk camera: its twin and the registry file
            registry = with_desk_camera(site.registry_path, site.namespace)
            with twin_service.client() as client:
                create_twins(client, registry)
            sighup()
            wait_until(lambda: service.health_report()["registry_devices"] == 2, "the new registry")
            assert service.health_report()["registry_errors"] == []

            hub.send(desk(camera, t0 + 130_000, present=False))
            device.send("telemetry", {"waiting": 3, "officer_present": True}, ts=t0 + 200_000)
            device.send("telemetry", {"waiting": 3, "officer_present": True}, ts=t0 + 201_000)
            (alert,) = wait_until(lambda: reader.alerts_of(key), "the absence seen by the camera")
            assert round(alert.opened_at.timestamp() * 1000) == t0 + 190_000  # empty + 1 min
            assert alert.details["source"] == "camera"
            assert alert.details["camera"] == camera
        finally:
            reader.close()
            hub.close()
            device.close()
