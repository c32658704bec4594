"""What `citytwin up` leaves open on the machine: InfluxDB asks for a user, its RPC port
is on loopback, the state directory is readable by its owner only."""

from __future__ import annotations

import signal
import stat
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.citytwin.running import wait_healthy


def test_influxdb_refuses_queries_without_credentials_and_takes_citytwins(
    running_stack: subprocess.Popen[str], stack_env: dict[str, str], tmp_path: Path
) -> None:
    wait_healthy(stack_env, running_stack, tmp_path / "up.log")
    url = f"{stack_env['CITYTWIN_INFLUX__URL']}/query"
    query = {"db": "citytwin", "q": "SHOW MEASUREMENTS"}
    secrets = tmp_path / "var" / "secrets"
    password = (secrets / "influx-citytwin-password").read_text().strip()
    assert httpx.get(url, params=query).status_code == 401
    assert httpx.get(url, params=query, auth=("citytwin", "guess")).status_code == 401
    assert httpx.get(url, params=query, auth=("citytwin", password)).status_code == 200
    not_admin = httpx.get(url, params={"q": "SHOW USERS"}, auth=("citytwin", password))
    assert not_admin.status_code == 403, "the citytwin user must not be an InfluxDB admin"
    admin_password = (secrets / "influx-admin-password").read_text().strip()
    users = httpx.get(url, params={"q": "SHOW USERS"}, auth=("admin", admin_password))
    assert users.status_code == 200
    config = (tmp_path / "var" / "influxdb" / "influxdb.conf").read_text()
    port = int(stack_env["CITYTWIN_INFLUX__URL"].rsplit(":", 1)[1])
    assert f'bind-address = "127.0.0.1:{port + 2}"' in config  # the RPC (backup) port


@pytest.fixture
def readable_state_dir(stack_env: dict[str, str]) -> Path:
    """A state directory as an older citytwin, or a plain mkdir, left it: 0755, and a
    world-readable file in it."""
    state = Path(stack_env["CITYTWIN_STATE_DIR"])
    (state / "logs").mkdir(parents=True)
    (state / "logs" / "old.log").write_text("thaibinh.hcc:counter-07 …\n")
    for path in (state, state / "logs", state / "logs" / "old.log"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return state


def test_everything_in_the_state_directory_is_private_to_its_owner(
    readable_state_dir: Path,
    running_stack: subprocess.Popen[str],
    stack_env: dict[str, str],
    tmp_path: Path,
) -> None:
    state = readable_state_dir
    wait_healthy(stack_env, running_stack, tmp_path / "up.log")
    running_stack.send_signal(signal.SIGINT)  # Mosquitto saves its persistence on the way out
    assert running_stack.wait(30) == 0
    kinds = {
        "twin database": state / "twins" / "twins.sqlite3",
        "broker persistence": state / "mosquitto" / "data" / "mosquitto.db",
        "spool": state / "ingest" / "spool",
        "logs": state / "logs" / "ingest.log",
        "InfluxDB data": state / "influxdb" / "meta",
    }
    missing = [what for what, path in kinds.items() if not path.exists()]
    assert missing == []
    readable = [
        f"{path.relative_to(state)} {stat.filemode(path.lstat().st_mode)}"
        for path in (state, *state.rglob("*"))
        if not path.is_symlink() and path.lstat().st_mode & 0o077
    ]
    assert readable == []
