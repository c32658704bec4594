"""``citytwin grafana build | push | preview`` as an operator runs them."""

from __future__ import annotations

from pathlib import Path

from grafana.build import DASHBOARDS
from tests.citytwin.test_config import run_cli
from tests.grafana.fake_grafana import fake_grafana


def test_build_writes_the_committed_boards(tmp_path: Path) -> None:
    result = run_cli("grafana", "build", "--out", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.glob("*/*.json"))
    assert written == sorted(p.relative_to(DASHBOARDS) for p in DASHBOARDS.glob("*/*.json"))
    for path in written:
        assert (tmp_path / path).read_bytes() == (DASHBOARDS / path).read_bytes()


def test_push_twice_reports_creations_then_updates(tmp_path: Path) -> None:
    env = {"CITYTWIN_GRAFANA__INFLUX_PASSWORD": "reader"}
    with fake_grafana("tok") as (url, state):
        first = run_cli("grafana", "push", "--url", url, "--token", "tok", env=env, cwd=tmp_path)
        second = run_cli("grafana", "push", "--url", url, "--token", "tok", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "16 created, 0 updated" in first.stdout
    assert "0 created, 16 updated" in second.stdout
    assert state.datasources["citytwin-influxdb"]["secureJsonData"] == {"password": "reader"}


def test_push_gives_grafana_the_read_only_password_citytwin_up_generated(
    tmp_path: Path,
) -> None:
    secrets = tmp_path / "var" / "secrets"
    secrets.mkdir(parents=True)
    (secrets / "influx-grafana-password").write_text("generated-by-up\n", encoding="utf-8")
    with fake_grafana("tok") as (url, state):
        result = run_cli("grafana", "push", "--url", url, "--token", "tok", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    source = state.datasources["citytwin-influxdb"]
    assert source["user"] == "grafana"
    assert source["secureJsonData"] == {"password": "generated-by-up"}


def test_push_before_citytwin_up_names_the_missing_password(tmp_path: Path) -> None:
    with fake_grafana("tok") as (url, _):
        result = run_cli("grafana", "push", "--url", url, "--token", "tok", cwd=tmp_path)
    assert result.returncode == 2
    assert "influx-grafana-password" in result.stderr
    assert "citytwin up" in result.stderr


def test_push_without_a_token_says_so(tmp_path: Path) -> None:
    result = run_cli("grafana", "push", "--url", "http://127.0.0.1:9", cwd=tmp_path)
    assert result.returncode == 2
    assert "token" in result.stderr


def test_preview_of_an_unknown_board_lists_the_boards(tmp_path: Path) -> None:
    (tmp_path / "var" / "secrets").mkdir(parents=True)
    result = run_cli(
        "grafana", "preview", "--board", "nope", env={"CITYTWIN_INFLUX__EMBEDDED": "false"},
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "no board nope" in result.stderr
    assert "citytwin-overview" in result.stderr


def test_preview_without_a_state_dir_says_what_is_missing(tmp_path: Path) -> None:
    result = run_cli("grafana", "preview", cwd=tmp_path)
    assert result.returncode == 2
    assert "state dir" in result.stderr
    assert "Traceback" not in result.stderr
