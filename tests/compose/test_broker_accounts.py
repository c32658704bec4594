"""The broker accounts compose's services log in with are the ones its `provision` service
gives them, with their role's ACL — checked on a real Mosquitto run with compose's
mosquitto.conf, after the provision service's own command wrote its files."""

from __future__ import annotations

import getpass
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from citytwin.accounts import ServiceRole, role_acl
from citytwin.paths import StatePaths
from citytwin.settings import CitytwinSettings
from citytwin.stack import analytics_logins, load_secrets, mqtt_account
from tests.compose.support import (
    COMPOSE_DIR,
    ENV_PREFIX,
    citytwin_services,
    load_service_settings,
)
from tests.services import free_port, program, wait_for_port

STATE = "/state"
ROLES = {"serve": ServiceRole.HTTP, "ingest": ServiceRole.INGEST, "video": ServiceRole.VIDEO}


def service_settings(service: dict[str, Any], state: Path) -> CitytwinSettings:
    """The service's settings with its /state volume at ``state``."""
    return load_service_settings({**service["environment"], "CITYTWIN_STATE_DIR": str(state)})


def logins(name: str, settings: CitytwinSettings) -> dict[str, ServiceRole]:
    """The broker accounts the service's process connects as."""
    if name == "analytics":
        return dict.fromkeys(analytics_logins(settings), ServiceRole.ANALYTICS)
    return {mqtt_account(settings, ROLES[name]): ROLES[name]}


def acl_blocks(text: str) -> dict[str, list[str]]:
    """``user → its topic lines`` of a Mosquitto ACL file."""
    blocks: dict[str, list[str]] = {}
    user = None
    for line in text.splitlines():
        if line.startswith("user "):
            user = line.removeprefix("user ")
            blocks[user] = []
        elif line.startswith("topic ") and user is not None:
            blocks[user].append(line)
    return blocks


@pytest.fixture(scope="module")
def provisioned(config: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The state volume after compose's `provision` service ran its command."""
    state = tmp_path_factory.mktemp("state")
    os.chmod(state, 0o700)
    service = config["services"]["provision"]
    environment = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)} | {
        **service["environment"],
        "CITYTWIN_STATE_DIR": str(state),
    }
    result = subprocess.run(
        [sys.executable, "-m", "citytwin", *service["command"][1:]],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=environment,
    )
    assert result.returncode == 0, result.stderr
    return state


@pytest.fixture(scope="module")
def compose_broker(provisioned: Path) -> Iterator[int]:
    """Mosquitto with compose/mosquitto/mosquitto.conf, its /state at the provisioned dir."""
    port = free_port()
    text = (COMPOSE_DIR / "mosquitto" / "mosquitto.conf").read_text(encoding="utf-8")
    assert "listener 1883 0.0.0.0" in text
    text = text.replace(f"{STATE}/", f"{provisioned}/").replace(
        "listener 1883 0.0.0.0", f"listener {port} 127.0.0.1"
    )
    # in compose it runs as the provisioning user (`user:`); here: as this test's user,
    # where root would otherwise drop to `mosquitto`, who cannot read the 0700 state dir
    conf = provisioned.parent / "mosquitto.conf"
    conf.write_text(f"user {getpass.getuser()}\n{text}", encoding="utf-8")
    log = (provisioned.parent / "mosquitto.log").open("w")
    process = subprocess.Popen([program("mosquitto"), "-c", str(conf)], stdout=log, stderr=log)
    try:
        wait_for_port(port)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def connack(port: int, username: str, password: str) -> int:
    """The broker's answer to a login (0: accepted)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=username)
    client.username_pw_set(username, password)
    codes: list[int] = []
    client.on_connect = lambda _c, _u, _f, reason, _p: codes.append(reason.value)
    client.connect("127.0.0.1", port)
    for _ in range(100):
        client.loop(0.05)
        if codes:
            break
    client.disconnect()
    client.loop(0.05)
    client.socket() and client.socket().close()  # type: ignore[union-attr]
    return codes[0] if codes else -1


def test_mosquitto_reads_the_files_provisioning_writes(config: dict[str, Any]) -> None:
    text = (COMPOSE_DIR / "mosquitto" / "mosquitto.conf").read_text(encoding="utf-8")
    provision = service_settings(config["services"]["provision"], Path(STATE))
    paths = StatePaths(provision.state_dir)
    assert re.search(rf"^password_file {paths.password_file}$", text, re.M)
    assert re.search(rf"^acl_file {paths.acl_file}$", text, re.M)
    assert re.search(r"^allow_anonymous false$", text, re.M)
    assert re.search(r"^use_username_as_clientid true$", text, re.M)
    # the same volume, as the same user: the files are the provisioning user's, mode 0600
    mosquitto = config["services"]["mosquitto"]
    assert mosquitto["user"] == config["services"]["provision"]["user"]
    assert f"citytwin-state:{STATE}" in [v.rsplit(":rw", 1)[0] for v in mosquitto["volumes"]]


@pytest.mark.parametrize("name", ["serve", "ingest", "analytics", "video"])
def test_each_service_logs_in_with_an_account_provisioning_gave_it(
    config: dict[str, Any], provisioned: Path, compose_broker: int, name: str
) -> None:
    settings = service_settings(citytwin_services(config)[name], provisioned)
    secrets = load_secrets(settings, StatePaths(provisioned), create=False)
    acl = acl_blocks(StatePaths(provisioned).acl_file.read_text(encoding="utf-8"))
    accounts = logins(name, settings)
    assert accounts
    for username, role in accounts.items():
        assert username in acl, f"{name}: {username} was not provisioned"
        assert acl[username] == [rule.line() for rule in role_acl(role)]
        assert connack(compose_broker, username, secrets.mqtt[username]) == 0
        assert connack(compose_broker, username, "not-the-password") != 0


def test_the_broker_health_check_logs_in_as_the_probe(
    config: dict[str, Any], provisioned: Path, compose_broker: int
) -> None:
    check = config["services"]["mosquitto"]["healthcheck"]["test"][-1]
    found = re.search(r'-u (\S+) -P "\$+\(cat (\S+)\)"', check)
    assert found is not None, check
    username, password_file = found.group(1), Path(found.group(2))
    settings = service_settings(config["services"]["provision"], provisioned)
    assert username == mqtt_account(settings, ServiceRole.PROBE)
    assert password_file == Path(STATE) / StatePaths(provisioned).mqtt_password(
        username
    ).relative_to(provisioned)
    local = provisioned / password_file.relative_to(STATE)
    assert connack(compose_broker, username, local.read_text(encoding="utf-8").strip()) == 0
    assert acl_blocks(StatePaths(provisioned).acl_file.read_text(encoding="utf-8"))[username] == []


def test_the_broker_health_check_passes_on_a_healthy_broker(
    config: dict[str, Any], provisioned: Path, compose_broker: int
) -> None:
    check = config["services"]["mosquitto"]["healthcheck"]["test"]
    assert check[0] == "CMD-SHELL"
    command = (
        check[1]
        .replace("$$", "$")
        .replace(f"{STATE}/", f"{provisioned}/")
        .replace("-h 127.0.0.1", f"-h 127.0.0.1 -p {compose_broker}")
    )
    assert subprocess.run(["sh", "-c", command], timeout=30, check=False).returncode == 0
    wrong = command.replace("citytwin-probe)", "citytwin-http)")  # another account's password
    wrong_run = subprocess.run(["sh", "-c", wrong], timeout=30, capture_output=True, check=False)
    assert wrong_run.returncode != 0
