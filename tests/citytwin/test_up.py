"""`citytwin up` as a user runs it: healthy within 30 s, nothing left after Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx
import yaml

from tests.citytwin.running import STARTUP_LIMIT, citytwin, wait_healthy
from tests.services import process_alive


def test_up_is_healthy_within_30s_and_ctrl_c_leaves_no_child(
    running_stack: subprocess.Popen[str], stack_env: dict[str, str], tmp_path: Path
) -> None:
    report = wait_healthy(stack_env, running_stack, tmp_path / "up.log")
    components = {c["name"]: c for c in report["components"]}
    assert set(components) == {
        "mosquitto", "influxd", "radicale", "serve", "twins", "ingest", "calendar", "video",
        "analytics",
    }  # fmt: skip
    pids = [c["pid"] for c in components.values() if c["pid"]]
    assert len(pids) == 8  # twins is served by `serve`
    grafana_reads_and_cannot_write(stack_env)
    running_stack.send_signal(signal.SIGINT)
    assert running_stack.wait(30) == 0
    assert [pid for pid in pids if process_alive(pid)] == []
    assert "citytwin stopped." in (tmp_path / "up.log").read_text()


def grafana_reads_and_cannot_write(env: dict[str, str]) -> None:
    """The datasource `up` provisioned for Grafana logs in to the embedded InfluxDB as its
    read-only user: it may query the database ingest writes to and write nothing."""
    state = Path(env["CITYTWIN_STATE_DIR"])
    text = (state / "grafana" / "provisioning" / "datasources" / "citytwin.yml").read_text()
    source = yaml.safe_load(text)["datasources"][0]
    secret = Path(source["secureJsonData"]["password"].removeprefix("$__file{").rstrip("}"))
    login = (source["user"], secret.read_text().strip())
    assert source["url"] == env["CITYTWIN_INFLUX__URL"]
    database = source["jsonData"]["dbName"]
    read = httpx.post(
        f"{source['url']}/query", data={"db": database, "q": "SHOW MEASUREMENTS"}, auth=login
    )
    assert read.status_code == 200
    assert "error" not in read.json()["results"][0]
    written = httpx.post(
        f"{source['url']}/write", params={"db": database}, content=b"x v=1", auth=login
    )
    assert written.status_code == 403


def test_a_second_up_on_the_same_ports_names_the_busy_port(
    running_stack: subprocess.Popen[str], stack_env: dict[str, str], tmp_path: Path
) -> None:
    wait_healthy(stack_env, running_stack, tmp_path / "up.log")
    second = citytwin("--state-dir", str(tmp_path / "other"), "up", env=stack_env)
    assert second.returncode == 3
    port = stack_env["CITYTWIN_MQTT__PORT"]
    assert f"port {port} on 127.0.0.1 is already in use" in second.stderr
    assert "CITYTWIN_MQTT__PORT" in second.stderr


def test_children_die_with_a_killed_supervisor(
    running_stack: subprocess.Popen[str], stack_env: dict[str, str], tmp_path: Path
) -> None:
    """Even SIGKILL of `citytwin up` leaves no orphan (the kernel SIGTERMs the children)."""
    report = wait_healthy(stack_env, running_stack, tmp_path / "up.log")
    pids = [c["pid"] for c in report["components"] if c["pid"]]
    running_stack.kill()
    running_stack.wait(10)
    deadline = time.monotonic() + 20
    while any(process_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in pids if process_alive(pid)] == []


def test_ctrl_c_while_starting_stops_what_has_started(
    running_stack: subprocess.Popen[str], stack_env: dict[str, str], tmp_path: Path
) -> None:
    pid_file = tmp_path / "var" / "run" / "mosquitto.pid"
    deadline = time.monotonic() + STARTUP_LIMIT
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    broker_pid = int(pid_file.read_text())
    running_stack.send_signal(signal.SIGINT)
    running_stack.wait(30)
    assert not process_alive(broker_pid)
    assert list((tmp_path / "var" / "run").glob("*.pid")) == []


def test_an_unknown_scenario_is_named_not_a_traceback(
    stack_env: dict[str, str],
) -> None:
    result = citytwin("up", "--scenario", "atlantis", env=stack_env)
    assert result.returncode == 2
    assert "no scenario named 'atlantis'; bundled:" in result.stderr
    assert "Traceback" not in result.stderr


def test_provisioning_a_file_updates_the_registry_the_platform_reads(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    example = Path(__file__).resolve().parents[2] / "docs" / "examples" / "sites.yaml"
    result = citytwin("provision", str(example), env=stack_env)
    assert result.returncode == 0, result.stderr
    assert "Provisioned 5 devices: 5 added, 0 kept, 0 revoked." in result.stdout
    effective = (tmp_path / "var" / "registry.yaml").read_text()
    assert "counter-07" in effective
    broken = tmp_path / "broken.yaml"
    broken.write_text("sites:\n  - id: thaibinh.hcc\n    name: HCC\n    sector: banking\n")
    bad = citytwin("provision", str(broken), env=stack_env)
    assert bad.returncode == 2
    assert f"{broken}:4: sites[0].sector: Input should be" in bad.stderr
    assert "counter-07" in (tmp_path / "var" / "registry.yaml").read_text()  # kept
