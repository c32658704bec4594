"""docs/twins.md: the curl commands work as shown, and the example twins are what
`thing_for_device` makes."""

from __future__ import annotations

import os
import re
import select
import subprocess
from pathlib import Path

import orjson
import pytest

from tests.twins.conftest import SERVICE_PASSWORD, TwinServer
from twins.client import DittoClient

DOC = Path(__file__).parents[2] / "docs" / "twins.md"
THING = "thaibinh.hcc:counter-07"


def _blocks(marker: str) -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    pattern = re.compile(rf"<!-- {marker}: (\S+)[^>]*-->\n```\w+\n(.*?)```", re.DOTALL)
    return {match[1]: match[2] for match in pattern.finditer(text)}


def _env(server: TwinServer) -> dict[str, str]:
    return {**os.environ, "CITYTWIN": server.url, "PASSWORD": SERVICE_PASSWORD}


def _sh(server: TwinServer, script: str) -> str:
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        env=_env(server),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout


@pytest.fixture
def no_counter(client: DittoClient) -> None:
    for thing in client.search(f'eq(thingId,"{THING}")'):
        client.delete(thing["thingId"])


@pytest.mark.usefixtures("no_counter")
def test_curl_commands_work_as_shown(twin_server: TwinServer, client: DittoClient) -> None:
    commands = _blocks("curl")
    setup = commands["setup"].replace("$(cat var/secrets/twins-password)", "$PASSWORD")
    setup = setup.replace("export CITYTWIN=http://127.0.0.1:8080\n", "")

    created = orjson.loads(_sh(twin_server, setup + commands["create"]))
    assert created["thingId"] == THING
    assert created["policyId"] == THING
    assert _sh(twin_server, setup + commands["read"]).strip() == "0"

    with subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", setup + "exec " + commands["watch"]],
        env=_env(twin_server),
        stdout=subprocess.PIPE,
    ) as watcher:
        try:
            assert watcher.stdout is not None
            assert watcher.stdout.readline() == b":subscribed\n"  # the stream is live
            assert _sh(twin_server, setup + commands["patch"]) == ""
            lines: list[bytes] = []
            while not any(line.startswith(b"data:") for line in lines):
                ready, _, _ = select.select([watcher.stdout], [], [], 30)
                assert ready, "no event within 30 s"
                lines.append(watcher.stdout.readline())
            event = next(line for line in lines if line.startswith(b"data:"))
            assert orjson.loads(event.removeprefix(b"data:")) == {
                "thingId": THING,
                "features": {"queue": {"properties": {"waiting": 6}}},
            }
        finally:
            watcher.terminate()

    found = orjson.loads(_sh(twin_server, setup + commands["search"]))
    assert {"thingId": THING, "features": {"queue": {"properties": {"waiting": 6}}}} in found[
        "items"
    ]
    assert all(item["features"]["queue"]["properties"]["waiting"] > 5 for item in found["items"])
