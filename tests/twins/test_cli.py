"""``citytwin twins …`` against the embedded service."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from citytwin.cli.twins import twin_client, twins_app
from citytwin.settings import CitytwinSettings
from tests.twins.conftest import SERVICE_PASSWORD, TwinServer
from twins.client import DittoClient


@pytest.fixture
def settings(twin_server: TwinServer, tmp_path: Path) -> CitytwinSettings:
    settings = CitytwinSettings(state_dir=tmp_path)
    settings.twins.url = twin_server.url  # type: ignore[assignment]
    settings.twins.password = SecretStr(SERVICE_PASSWORD)
    return settings


def _run(settings: CitytwinSettings, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(twins_app, list(args), obj=settings)
    return result.exit_code, result.stdout, result.stderr


def test_get_and_search(settings: CitytwinSettings, client: DittoClient, namespace: str) -> None:
    thing_id = f"{namespace}:c1"
    client.put_thing({"thingId": thing_id, "attributes": {"site": "s1"}})
    code, out, _ = _run(settings, "get", thing_id, "attributes/site")
    assert (code, orjson.loads(out)) == (0, "s1")
    code, out, _ = _run(settings, "search", 'eq(attributes/site,"s1")', "--namespaces", namespace)
    assert code == 0
    assert [orjson.loads(line)["thingId"] for line in out.splitlines()] == [thing_id]
    code, out, _ = _run(settings, "search", "--count", "--namespaces", namespace)
    assert out.strip() == "1"
    code, _, err = _run(settings, "get", f"{namespace}:missing")
    assert code == 1
    assert "things:thing.notfound" in err


def test_export_then_import_elsewhere(
    settings: CitytwinSettings, client: DittoClient, namespace: str, tmp_path: Path
) -> None:
    for index in range(3):
        client.put_thing({"thingId": f"{namespace}:t{index}", "attributes": {"i": index}})
    backup = tmp_path / "things.jsonl"
    code, _, err = _run(settings, "export", str(backup), "--namespaces", namespace)
    assert code == 0, err
    lines = backup.read_bytes().splitlines()
    assert len(lines) == 3
    assert orjson.loads(lines[0])["_policy"]["policyId"] == f"{namespace}:t0"
    for index in range(3):
        client.delete(f"{namespace}:t{index}")
    client.put_thing({"thingId": f"{namespace}:t0", "attributes": {"i": 99}})
    code, _, err = _run(settings, "import", str(backup))
    assert code == 0, err
    assert "2 created" in err
    assert "1 left as they were" in err
    assert client.get(f"{namespace}:t0", "attributes/i") == 99
    assert client.get(f"{namespace}:t2", "attributes/i") == 2
    code, _, err = _run(settings, "import", str(backup), "--replace")
    assert client.get(f"{namespace}:t0", "attributes/i") == 0


def test_import_reports_bad_lines(settings: CitytwinSettings, tmp_path: Path) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_text('{"thingId": "bad id"}\nnot json\n[1]\n', encoding="utf-8")
    code, _, err = _run(settings, "import", str(source))
    assert code == 1
    assert f"{source}:1" in err
    assert "things:id.invalid" in err
    assert f"{source}:2: not valid JSON" in err
    assert f"{source}:3: not a thing" in err


def test_watch_prints_changes(
    settings: CitytwinSettings, client: DittoClient, namespace: str
) -> None:
    import threading

    thing_id = f"{namespace}:w"
    client.put_thing({"thingId": thing_id})
    result: list[tuple[int, str, str]] = []
    runner = threading.Thread(
        target=lambda: result.append(_run(settings, "watch", "--ids", thing_id, "--limit", "1"))
    )
    runner.start()
    # keep changing until the watcher (subscribing in its thread) has seen one and stopped
    value = 0
    while runner.is_alive():
        value += 1
        client.put(thing_id, "attributes/n", value)
        runner.join(timeout=0.05)
    code, out, _ = result[0]
    assert code == 0
    change = orjson.loads(out)
    assert change["thingId"] == thing_id
    assert change["attributes"]["n"] >= 1


def test_password_comes_from_the_state_dir(tmp_path: Path, twin_server: TwinServer) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "twins-password").write_text(SERVICE_PASSWORD + "\n", encoding="utf-8")
    settings = CitytwinSettings(state_dir=tmp_path)
    settings.http.port = int(twin_server.url.rsplit(":", 1)[1])
    with twin_client(settings) as ditto:
        assert ditto.count(namespaces=["nothing.here"]) == 0
