"""A small province for the open-data tests: air/noise and flood sensors with places, and a
service centre whose counter, camera and meeting room hold exactly what must never be
published (an officer, a ticket, a stream URL with credentials, a booking's title)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import requests

from analytics.indicators.catalogue import load_catalogue
from analytics.indicators.figures import check_rows, read_csv
from analytics.indicators.store import IndicatorStore
from analytics.kpis.influx import KpiInflux
from citytwin.app import create_app
from citytwin.paths import StatePaths
from citytwin.settings import CitytwinSettings
from citytwin.stack import Secrets, load_secrets, twin_client
from tests.services import Influx, free_port, serve_in_thread
from twins.client import DittoClient
from twins.errors import DittoError

ENV_SITE = (20.4500, 106.3400)  # lat, lon of the city station's site
ENV_01 = (20.4463, 106.3366)
FLOOD_01 = (20.5300, 106.4000)  # about 11 km north-east of the city stations
PARTNER_KEY = "partner-key-0123456789abcdef"
OFFICER = "Nguyễn Văn An"
TICKET = "A-0217"
STREAM_URL = "rtsp://viewer:camera-secret@10.20.0.31:554/stream1"
BOOKING_TITLE = "Họp xét hồ sơ khiếu nại của bà Trần Thị Bình"


def registry_yaml(namespace: str) -> str:
    return f"""
sites:
  - id: {namespace}.env
    name: Trạm quan trắc môi trường thành phố
    sector: environment
    lat: {ENV_SITE[0]}
    lon: {ENV_SITE[1]}
    devices:
      - name: env-01
        kind: sensor
        label: Cảm biến env 01
        attributes:
          measures: "temperature,humidity,pm25,noise"
          lat: {ENV_01[0]}
          lon: {ENV_01[1]}
      - name: env-02
        kind: sensor
        label: Cảm biến env 02
        attributes: {{measures: "temperature,humidity,pm25,noise"}}
  - id: {namespace}.flood
    name: Quan trắc mực nước sông
    sector: environment
    devices:
      - name: flood-01
        kind: sensor
        attributes: {{measures: water_level, lat: {FLOOD_01[0]}, lon: {FLOOD_01[1]}}}
      - {{name: flood-02, kind: sensor, attributes: {{measures: water_level}}}}
  - id: {namespace}.hcc
    name: Trung tâm Phục vụ hành chính công
    sector: public_administration
    lat: 20.4470
    lon: 106.3360
    devices:
      - {{name: counter-01, kind: counter}}
      - {{name: counter-02, kind: counter}}
      - {{name: counter-07, kind: counter, attributes: {{service: land, desk: "07"}}}}
      - {{name: cam-desk-01, kind: camera}}
      - {{name: room-01, kind: meeting_room, attributes: {{capacity: 20}}}}
      - {{name: pm-01, kind: sensor, attributes: {{measures: "temperature,humidity,pm25"}}}}
  - id: {namespace}.tiepdan
    name: Phòng tiếp công dân huyện số 1
    sector: citizen_reception
    devices:
      - {{name: counter-01, kind: counter}}
"""


@dataclass
class OpenCity:
    """The running app of the small province, and what a test needs to change it."""

    url: str
    namespace: str
    settings: CitytwinSettings
    secrets: Secrets
    influx: Influx

    def twins(self) -> DittoClient:
        return twin_client(self.settings, self.secrets.twins)

    def thing(self, site: str, device: str) -> str:
        return f"{self.namespace}.{site}:{device}"

    def report(self, site: str, device: str, feature: str, properties: dict[str, Any]) -> None:
        """Write reported properties into the twin, as ingest does from a device."""
        with self.twins() as client:
            for name, value in properties.items():
                client.put(self.thing(site, device), f"features/{feature}/properties/{name}", value)

    async def submit_figures(self, csv_body: str, submitted_by: str) -> None:
        """Store sector figures as an upload does (checked, then through the store)."""
        catalogue = load_catalogue()
        checked = check_rows(read_csv(csv_body.encode()), catalogue, time.time)
        assert not checked.problems, checked.problems

        def influx() -> KpiInflux:
            return KpiInflux(
                self.influx.url,
                self.settings.influx.database,
                username=self.influx.username,
                password=self.influx.password,
            )

        store = IndicatorStore(influx, catalogue, clock=time.time)
        await store.submit(checked.figures, submitted_by)

    async def write_points(self, lines: list[str]) -> None:
        async with KpiInflux(
            self.influx.url,
            self.settings.influx.database,
            username=self.influx.username,
            password=self.influx.password,
        ) as client:
            await client.write(lines)


def _settings(state: Path, influx: Influx, database: str, registry: Path, **open_data: Any) -> Any:
    return CitytwinSettings.model_validate(
        {
            "state_dir": str(state),
            "registry": str(registry),
            "http": {"port": free_port()},
            "mqtt": {"port": free_port()},
            "influx": {
                "embedded": False,
                "url": influx.url,
                "database": database,
                "username": influx.username,
                "password": influx.password,
            },
            "open_data": {
                "cache_seconds": 0,
                "api_keys": {"partner": {"key": PARTNER_KEY, "rate": "100000/minute"}},
                **open_data,
            },
        }
    )


@contextmanager
def running_city(
    state: Path, influx: Influx, namespace: str, **open_data: Any
) -> Iterator[OpenCity]:
    """The app on a free port with the province's twins provisioned and its data reported."""
    database = namespace.replace(".", "_")
    influx.create_database(database)
    registry = state / "registry.yaml"
    registry.write_text(registry_yaml(namespace), encoding="utf-8")
    settings = _settings(state / "var", influx, database, registry, **open_data)
    secrets = load_secrets(settings, StatePaths(settings.state_dir))
    with serve_in_thread(create_app(settings, secrets), settings.http.port) as url:
        city = OpenCity(url, namespace, settings, secrets, influx)
        _wait_for_twins(city)
        _report_everything(city)
        yield city


def _wait_for_twins(city: OpenCity) -> None:
    """Provisioning runs in the app's lifespan and retries until the twin API answers."""
    namespaces = [f"{city.namespace}.{site}" for site in ("env", "flood", "hcc", "tiepdan")]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with city.twins() as client:
                if client.count(namespaces=namespaces) == 11:
                    return
        except (DittoError, requests.RequestException):
            pass
        time.sleep(0.1)
    raise AssertionError(f"the twins of {namespaces} were not provisioned within 60 s")


def _report_everything(city: OpenCity) -> None:
    city.report(
        "env",
        "env-01",
        "measurements",
        {"temperatureC": 31.5, "humidityPct": 78.0, "pm25Ugm3": 42.0, "noiseDba": 66.5},
    )
    city.report("env", "env-02", "measurements", {"temperatureC": 29.0, "pm25Ugm3": 12.0})
    city.report("flood", "flood-01", "measurements", {"waterLevelCm": 182.0})
    for site, device in (("env", "env-01"), ("env", "env-02"), ("flood", "flood-01")):
        city.report(
            site,
            device,
            "connectivity",
            {"online": True, "lastSeen": "2026-12-08T03:15:00.000Z", "firmware": "2.4.1"},
        )
    city.report("hcc", "counter-07", "staff", {"present": True, "officerId": OFFICER})
    city.report("hcc", "counter-07", "service", {"open": True, "currentTicket": TICKET})
    city.report("hcc", "cam-desk-01", "stream", {"url": STREAM_URL})
    city.report("hcc", "cam-desk-01", "configuration", {"streamUrl": STREAM_URL})
    city.report(
        "hcc",
        "room-01",
        "booking",
        {"current": {"booking": "b-1", "title": BOOKING_TITLE, "attendees": 9}},
    )
    city.report("hcc", "pm-01", "configuration", {"streamUrl": STREAM_URL})
    city.report("hcc", "pm-01", "measurements", {"pm25Ugm3": 8.0})


def client(city: OpenCity, **headers: str) -> httpx.Client:
    return httpx.Client(base_url=city.url, timeout=20, headers=headers)
