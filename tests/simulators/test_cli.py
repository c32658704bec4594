"""`citytwin simulate` provisions the scenario, runs it and tells where the ground truth is."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiomqtt
import typer
from typer.testing import CliRunner

from citytwin.cli.simulate import parse_duration, simulate
from citytwin.provisioning import load_device_credentials
from citytwin.settings import CitytwinSettings, MqttSettings
from simulators.groundtruth import read_ground_truth
from tests.services import Broker
from tests.simulators.conftest import smoke_scenario
from twins.registry import Registry, RegistrySpec
from twins.thing_id import ThingId


def app_with(settings: CitytwinSettings) -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main(ctx: typer.Context) -> None:
        ctx.obj = settings

    app.command("simulate")(simulate)
    return app


def test_simulate_runs_a_scenario_file_and_writes_ground_truth(
    broker: Broker, tmp_path: Path, namespace: str
) -> None:
    smoke_scenario(tmp_path, namespace)  # writes tmp_path/smoke.yaml in its own namespace
    settings = CitytwinSettings(
        state_dir=broker.paths.root,
        language="en",
        mqtt=MqttSettings(host=broker.host, port=broker.port),
    )
    truth = tmp_path / "truth.jsonl"
    result = CliRunner().invoke(
        app_with(settings),
        ["simulate", str(tmp_path / "smoke.yaml"), "--speed", "600", "--duration", "3s",
         "--no-video", "--ground-truth", str(truth)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Finished smoke" in result.output
    assert "Ground truth" in result.output
    assert any(line["what"] == "intrusion" for line in read_ground_truth(truth))


def test_simulate_adds_its_devices_and_revokes_none(
    broker: Broker, tmp_path: Path, namespace: str, unique_name: str
) -> None:
    """Field devices provisioned from a registry keep working while a tester plays a scenario."""
    field_site = f"field.{unique_name}"
    field_registry = {
        "sites": [
            {
                "id": field_site,
                "name": "Trạm y tế",
                "sector": "health",
                "devices": [{"name": "env-01", "kind": "sensor"}],
            }
        ]
    }
    broker.provision(Registry(RegistrySpec.model_validate(field_registry)))
    field_device = f"{field_site}:env-01"
    smoke_scenario(tmp_path, namespace)
    settings = CitytwinSettings(
        state_dir=broker.paths.root,
        language="en",
        mqtt=MqttSettings(host=broker.host, port=broker.port),
    )
    result = CliRunner().invoke(
        app_with(settings),
        ["simulate", str(tmp_path / "smoke.yaml"), "--speed", "600", "--duration", "1s",
         "--no-video", "--ground-truth", str(tmp_path / "truth.jsonl")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output

    known = load_device_credentials(broker.paths)
    assert field_device in known, "the field device was revoked"
    assert any(thing_id.startswith(f"{namespace}:") for thing_id in known)
    effective = Registry.load(broker.paths.effective_registry)
    assert effective.get(ThingId.parse(field_device)) is not None, "ingest would drop it"
    entry = known[field_device]
    asyncio.run(_connect_and_leave(broker, entry.username, entry.password))


async def _connect_and_leave(broker: Broker, username: str, password: str) -> None:
    """Raises ``MqttError`` when the broker refuses the credentials."""
    async with aiomqtt.Client(broker.host, broker.port, username=username, password=password):
        pass


def test_bad_scenario_file_is_reported_with_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\nservices: []\nsites: []\nspeeed: 60\n", encoding="utf-8")
    settings = CitytwinSettings(state_dir=tmp_path / "var")
    result = CliRunner().invoke(app_with(settings), ["simulate", str(path)])
    assert result.exit_code == 2
    assert f"{path}:4: speeed: unknown field (check the spelling)" in result.output


def test_durations_read_like_people_write_them() -> None:
    assert [parse_duration(text) for text in ("10m", "90s", "2h", "45")] == [600, 90, 7200, 45]
