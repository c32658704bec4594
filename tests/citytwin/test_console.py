"""The operator console, served by the real HTTP app over the embedded twin service."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from citytwin.app import create_app
from citytwin.paths import StatePaths
from citytwin.settings import CitytwinSettings
from citytwin.stack import load_secrets, twin_client
from tests.services import free_port, serve_in_thread

OPERATOR = ("operator", "truc-ban-2026")
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "sites.yaml"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, CitytwinSettings]]:
    port = free_port()
    settings = CitytwinSettings.model_validate(
        {
            "state_dir": str(tmp_path_factory.mktemp("state")),
            "http": {"port": port},
            "registry": str(EXAMPLE),
            "mqtt": {"port": free_port()},
            "twins": {"users": {"operator": {"password": OPERATOR[1]}}},
        }
    )
    secrets = load_secrets(settings, StatePaths(settings.state_dir))
    with serve_in_thread(create_app(settings, secrets), port) as url:
        # the app provisions the registry's twins in the background; wait for them
        with twin_client(settings, secrets.twins) as client:
            deadline = time.monotonic() + 20
            while client.count() < 5 and time.monotonic() < deadline:
                time.sleep(0.05)
            client.patch(
                "thaibinh.hcc:counter-07",
                "features",
                {
                    "queue": {"properties": {"waiting": 4}},
                    "staff": {"properties": {"present": False}},
                    "connectivity": {"properties": {"online": True}},
                },
            )
        yield url, settings


def test_overview_is_vietnamese_by_default(app_url: tuple[str, CitytwinSettings]) -> None:
    url, _ = app_url
    page = httpx.get(url + "/", auth=OPERATOR).text
    assert "Trung tâm Giám sát, Điều hành" in page
    assert "Quầy 07" in page
    assert "4 người chờ · cán bộ vắng mặt" in page
    assert "mất kết nối" in page  # the devices that never reported
    assert "Hành chính công" in page


def test_english_on_request(app_url: tuple[str, CitytwinSettings]) -> None:
    url, _ = app_url
    page = httpx.get(url + "/", params={"lang": "en"}, auth=OPERATOR).text
    assert "Monitoring and Operations Centre" in page
    assert "4 waiting · officer absent" in page
    assert "1/2</b><span>Service counters online" in page
    bad = httpx.get(url + "/", params={"lang": "fr"}, auth=OPERATOR)
    assert bad.status_code == 422


def test_the_console_asks_operators_to_log_in(app_url: tuple[str, CitytwinSettings]) -> None:
    url, _ = app_url
    anonymous = httpx.get(url + "/")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Basic")
    wrong = httpx.get(url + "/", auth=(OPERATOR[0], "guess"))
    assert wrong.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu." in wrong.text


def test_health_metrics_and_api_docs_are_served(app_url: tuple[str, CitytwinSettings]) -> None:
    url, _ = app_url
    assert httpx.get(url + "/health").json() == {"status": "ok", "twins": "embedded"}
    assert "python_info" in httpx.get(url + "/metrics/").text
    docs = httpx.get(url + "/docs")
    assert docs.status_code == 200
    assert "cdn" not in docs.text.lower()  # served offline
    spec = httpx.get(url + "/openapi.json").json()
    assert "/ingest/{namespace}/{name}/{channel}" in spec["paths"]


def test_twin_api_answers_with_dittos_paths(app_url: tuple[str, CitytwinSettings]) -> None:
    url, settings = app_url
    secrets = load_secrets(settings, StatePaths(settings.state_dir))
    response = httpx.get(
        url + "/api/2/things/thaibinh.hcc:counter-07/attributes/site",
        auth=(settings.twins.username, secrets.twins),
    )
    assert response.json() == "thaibinh.hcc"
    assert httpx.get(url + "/api/2/things/thaibinh.hcc:counter-07").status_code == 401
