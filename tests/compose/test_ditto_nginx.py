"""citytwin's twin client through compose's nginx for Ditto: HTTP basic with the password
compose gives it, the users file written by the nginx container's start script, and the
caller handed on as ``x-ditto-pre-authenticated: nginx:citytwin``.

Upstream is citytwin's own Ditto-compatible service trusting that header, in place of the
gateway (which trusts it with ENABLE_PRE_AUTHENTICATION); nginx runs the compose config
with only its addresses and paths changed.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from citytwin.settings import CitytwinSettings
from citytwin.stack import twin_client
from tests.compose.support import COMPOSE_DIR, load_service_settings
from tests.services import free_port, program, serve_in_thread, wait_for_port
from twins.errors import DittoUnauthorizedError
from twins.service.api import create_twin_app
from twins.service.store import TwinStore
from twins.settings import TwinSettings

DITTO = COMPOSE_DIR / "ditto"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A twin service that trusts the pre-authenticated header, as Ditto's gateway does."""
    store = TwinStore.open(tmp_path_factory.mktemp("twins") / "twins.sqlite3")
    app = create_twin_app(store, TwinSettings(pre_authenticated_header=True), "not-compose's")
    with serve_in_thread(app, free_port()) as url:
        yield url
    store.close()


@pytest.fixture(scope="module")
def nginx(
    config: dict[str, Any], gateway: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """compose's ditto-nginx: its start script, then nginx with its config."""
    root = tmp_path_factory.mktemp("nginx")
    users = root / "htpasswd"
    environment = config["services"]["ditto-nginx"]["environment"]
    script = subprocess.run(
        ["sh", str(DITTO / "40-citytwin-users.sh")],
        env={"PATH": "/usr/bin:/bin", **environment, "DITTO_USERS_FILE": str(users)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert script.returncode == 0, script.stderr
    port = free_port()
    text = (DITTO / "nginx.conf").read_text(encoding="utf-8")
    for compose_value, here in (
        ("server ditto-gateway:8080;", f"server {gateway.removeprefix('http://')};"),
        ("listen 80;", f"listen 127.0.0.1:{port};"),
        ("/etc/nginx/auth/htpasswd", str(users)),
    ):
        assert compose_value in text
        text = text.replace(compose_value, here)
    temp = "".join(
        f"  {kind}_temp_path {root / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    text = text.replace("http {\n", "http {\n" + temp + f"  access_log {root / 'access.log'};\n")
    conf = root / "nginx.conf"
    conf.write_text(text, encoding="utf-8")
    user = "user root;" if os.geteuid() == 0 else ""  # the workers must read the users file
    log = (root / "stderr.log").open("w")
    process = subprocess.Popen(
        [
            program("nginx"),
            "-c",
            str(conf),
            "-p",
            str(root),
            "-e",
            str(root / "error.log"),
            "-g",
            f"daemon off; pid {root / 'nginx.pid'}; {user}",
        ],
        stderr=log,
    )
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def compose_twin_settings(config: dict[str, Any], nginx: str) -> CitytwinSettings:
    """serve's settings as compose sets them, its Ditto URL pointed at this nginx."""
    serve = config["services"]["serve"]["environment"]
    return load_service_settings({**serve, "CITYTWIN_TWINS__URL": nginx})


def test_citytwin_reaches_the_twins_as_nginx_citytwin(config: dict[str, Any], nginx: str) -> None:
    settings = compose_twin_settings(config, nginx)
    password = settings.twins.password.get_secret_value()
    with twin_client(settings, password) as client:
        assert client.request("GET", "/api/2/whoami").json()["subjects"] == ["nginx:citytwin"]
        client.put_thing({"thingId": "thaibinh.hcc:kiosk-01", "attributes": {"site": "hcc"}})
        assert client.get("thaibinh.hcc:kiosk-01", "attributes/site") == "hcc"


def test_a_wrong_password_stops_at_nginx(config: dict[str, Any], nginx: str) -> None:
    settings = compose_twin_settings(config, nginx)
    with twin_client(settings, "not-the-password") as client, pytest.raises(DittoUnauthorizedError):
        client.count()


def test_a_caller_cannot_bring_its_own_subject(config: dict[str, Any], nginx: str) -> None:
    forged = {"x-ditto-pre-authenticated": "nginx:someone-else"}
    alone = requests.get(f"{nginx}/api/2/whoami", headers=forged, timeout=10)
    assert alone.status_code == 401
    password = config["services"]["ditto-nginx"]["environment"]["DITTO_CITYTWIN_PASSWORD"]
    with_login = requests.get(
        f"{nginx}/api/2/whoami", headers=forged, auth=("citytwin", password), timeout=10
    )
    assert with_login.status_code == 200
    assert with_login.json()["subjects"] == ["nginx:citytwin"]
