"""Ditto's request options: ``condition``, ``if-equal``, ``timeout``, ``response-required``.

Each is checked over real HTTP as a Ditto client would send it, and every bad value must
be refused before anything is written.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
import yaml

from tests.twins.conftest import TwinServer
from twins.service.conditions import IfEqual

MERGE = {"Content-Type": "application/merge-patch+json"}
SPEC = Path(__file__).parent / "fixtures" / "ditto" / "ditto-api-2.yml"


def _base(server: TwinServer, namespace: str, name: str) -> str:
    return f"{server.url}/api/2/things/{namespace}:{name}"


def _revision(http: requests.Session, base: str) -> int:
    revision: int = http.get(base, params={"fields": "_revision"}).json()["_revision"]
    return revision


def test_a_false_condition_is_412_and_writes_nothing(
    twin_server: TwinServer, http: requests.Session, namespace: str
) -> None:
    base = _base(twin_server, namespace, "sensor")
    http.put(base, json={"features": {"t": {"properties": {"value": 23.9, "unit": "C"}}}})
    guarded = f"{base}/features/t/properties/value"
    refused = http.put(
        guarded, json=30, params={"condition": "ne(features/t/properties/value,23.9)"}
    )
    assert refused.status_code == 412
    assert refused.json()["error"] == "things:condition.failed"
    assert http.get(guarded).json() == 23.9
    assert _revision(http, base) == 1

    # the same condition as a header, once it holds
    applied = http.put(
        guarded, json=30, headers={"condition": 'eq(features/t/properties/unit,"C")'}
    )
    assert applied.status_code == 204
    assert http.get(guarded).json() == 30


def test_a_condition_is_tested_on_reads_and_deletes_too(
    twin_server: TwinServer, http: requests.Session, namespace: str
) -> None:
    base = _base(twin_server, namespace, "room")
    http.put(base, json={"attributes": {"floor": 2}})
    assert http.get(base, params={"condition": "gt(attributes/floor,5)"}).status_code == 412
    assert http.get(base, params={"condition": "gt(attributes/floor,1)"}).status_code == 200
    assert http.delete(base, params={"condition": "exists(attributes/x)"}).status_code == 412
    assert http.get(base).status_code == 200


def test_a_condition_that_does_not_parse_is_400_and_writes_nothing(
    twin_server: TwinServer, http: requests.Session, namespace: str
) -> None:
    base = _base(twin_server, namespace, "counter")
    http.put(base, json={"attributes": {"n": 1}})
    response = http.patch(
        base,
        data=b'{"attributes": {"n": 2}}',
        headers=MERGE,
        params={"condition": "eq(attributes/n"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "things:condition.invalid"
    assert "eq(attributes/n" in response.json()["message"]
    assert http.get(f"{base}/attributes/n").json() == 1


def test_if_equal_skip_leaves_an_equal_thing_alone(
    twin_server: TwinServer, http: requests.Session, namespace: str
) -> None:
    base = _base(twin_server, namespace, "kiosk")
    http.put(base, json={"attributes": {"paper": "ok"}})
    same = http.put(f"{base}/attributes/paper", json="ok", headers={"if-equal": "skip"})
    assert same.status_code == 412
    assert _revision(http, base) == 1
    changed = http.put(f"{base}/attributes/paper", json="low", headers={"if-equal": "skip"})
    assert changed.status_code == 204
    # update (the default) writes even an equal value, as Ditto does
    assert http.put(f"{base}/attributes/paper", json="low").status_code == 204
    assert _revision(http, base) == 3


def test_skip_minimizing_merge_skips_an_equal_merge(
    twin_server: TwinServer, http: requests.Session, namespace: str
) -> None:
    base = _base(twin_server, namespace, "merge")
    http.put(base, json={"attributes": {"a": 1, "b": 2}})
    headers = {**MERGE, "if-equal": "skip-minimizing-merge"}
    same = http.patch(base, data=b'{"attributes": {"a": 1}}', headers=headers)
    assert same.status_code == 412
    assert http.patch(base, data=b'{"attributes": {"a": 1, "b": 3}}', headers=headers).ok
    assert http.get(f"{base}/attributes").json() == {"a": 1, "b": 3}


@pytest.mark.parametrize(
    "params",
    [{"timeout": "0"}, {"timeout": "0s"}, {"response-required": "false"}],
)
def test_no_response_wanted_is_202_at_once(
    twin_server: TwinServer, http: requests.Session, namespace: str, params: dict[str, str]
) -> None:
    base = _base(twin_server, namespace, "fire-and-forget")
    response = http.put(base, json={"attributes": {"a": 1}}, params=params)
    assert response.status_code == 202
    assert response.content == b""
    assert http.get(f"{base}/attributes/a").json() == 1


def test_a_refused_write_without_response_is_202_and_changes_nothing(
    twin_server: TwinServer, http: requests.Session, namespace: str
) -> None:
    """Ditto answers 202 before the command runs, so the refusal never reaches the client."""
    base = _base(twin_server, namespace, "guarded")
    http.put(base, json={"attributes": {"a": 1}})
    response = http.put(
        f"{base}/attributes/a",
        json=2,
        params={"response-required": "false", "condition": "eq(attributes/a,5)"},
    )
    assert response.status_code == 202
    assert http.get(f"{base}/attributes/a").json() == 1


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("response-required", "nope"),
        ("timeout", "soon"),
        ("timeout", "61s"),
        ("if-equal", "always"),
        ("allow-policy-lockout", "maybe"),
    ],
)
@pytest.mark.parametrize("where", ["query", "header"])
def test_a_bad_option_is_400_before_anything_is_written(
    twin_server: TwinServer,
    http: requests.Session,
    namespace: str,
    name: str,
    value: str,
    where: str,
) -> None:
    base = _base(twin_server, namespace, "counter")
    params = {name: value} if where == "query" else {}
    headers = {name: value} if where == "header" else {}
    created = http.put(base, json={"attributes": {"n": 1}}, params=params, headers=headers)
    assert created.status_code == 400
    assert created.json()["error"] == "header.invalid"
    assert name in created.json()["message"]
    assert http.get(base).status_code == 404
    http.put(base, json={"attributes": {"n": 1}})
    changed = http.put(f"{base}/attributes/n", json=2, params=params, headers=headers)
    assert changed.status_code == 400
    assert http.get(f"{base}/attributes/n").json() == 1


def test_the_live_channel_is_refused_not_ignored(
    twin_server: TwinServer, http: requests.Session, namespace: str
) -> None:
    base = _base(twin_server, namespace, "live")
    http.put(base, json={})
    for params in ({"channel": "live"}, {"live-channel-condition": "exists(attributes/a)"}):
        response = http.get(base, params=params)
        assert response.status_code == 400
        assert response.json()["error"] == "twins:channel.unsupported"


def test_if_equal_takes_exactly_dittos_values() -> None:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    documented = spec["components"]["parameters"]["IfEqualHeaderParam"]["schema"]["enum"]
    assert sorted(member.value for member in IfEqual) == sorted(documented)
