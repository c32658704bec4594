"""Bad input gets a Ditto-style 4xx saying what and where, never a 5xx, never half-written."""

from __future__ import annotations

import pytest
import requests

from tests.twins.conftest import TwinServer

MERGE = {"Content-Type": "application/merge-patch+json"}


@pytest.fixture
def thing_url(twin_server: TwinServer, http: requests.Session, namespace: str) -> str:
    url = f"{twin_server.url}/api/2/things/{namespace}:victim"
    http.put(url, json={"attributes": {"a": 1}, "features": {"f": {"properties": {"p": 1}}}})
    return url


@pytest.mark.parametrize(
    ("path", "code", "words"),
    [
        ("no-colon", "things:id.invalid", "'no-colon'"),
        ("1bad:name", "things:id.invalid", "namespace:name"),
    ],
)
def test_malformed_thing_id(
    twin_server: TwinServer, http: requests.Session, path: str, code: str, words: str
) -> None:
    response = http.put(f"{twin_server.url}/api/2/things/{path}", json={})
    assert response.status_code == 400
    assert response.json()["error"] == code
    assert words in response.json()["message"]


def test_malformed_pointer(http: requests.Session, thing_url: str) -> None:
    response = http.put(f"{thing_url}/attributes/a//b", json=1)
    assert response.status_code == 400
    assert response.json()["error"] == "json.pointer.invalid"
    assert "empty key" in response.json()["message"]
    unknown = http.get(f"{thing_url}/nothing/here")
    assert unknown.status_code == 404


def test_malformed_json(http: requests.Session, thing_url: str) -> None:
    response = http.put(
        f"{thing_url}/attributes", data=b'{"a": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "json.invalid"
    assert body["status"] == 400
    assert "not valid JSON" in body["message"]


@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        ("attributes", [1, 2], "/attributes"),
        ("features/f/properties", "x", "/features/f/properties"),
        ("definition", "not a definition", "/definition"),
        ("features/f/definition", ["ok:x:1", 5], "/features/f/definition/1"),
        ("features/f", {"properties": {}, "colour": "red"}, "/features/f/colour"),
        ("policyId", 42, "policyId"),
        ("attributes/k", {"a/b": 1}, "a/b"),
    ],
)
def test_wrong_types_say_where(
    http: requests.Session, thing_url: str, path: str, value: object, where: str
) -> None:
    response = http.put(f"{thing_url}/{path}", json=value)
    assert response.status_code == 400, response.text
    assert where in response.json()["message"]
    assert http.get(thing_url).json()["attributes"] == {"a": 1}


def test_body_over_100_kb_is_413(http: requests.Session, thing_url: str) -> None:
    response = http.put(f"{thing_url}/attributes/big", json="x" * 100_001)
    assert response.status_code == 413
    assert response.json()["error"] == "things:thing.tooLarge"
    assert http.get(f"{thing_url}/attributes/big").status_code == 404


def test_thing_growing_over_the_limit_is_refused_whole(
    http: requests.Session, thing_url: str
) -> None:
    for index in range(3):
        http.put(f"{thing_url}/attributes/chunk{index}", json="x" * 30_000)
    response = http.patch(
        thing_url,
        data=b'{"attributes": {"chunk3": "' + b"y" * 30_000 + b'", "a": 2}}',
        headers=MERGE,
    )
    assert response.status_code == 413
    assert http.get(f"{thing_url}/attributes/a").json() == 1


def test_thing_id_in_body_must_match(http: requests.Session, thing_url: str) -> None:
    response = http.put(thing_url, json={"thingId": "other:thing"})
    assert response.status_code == 400
    assert response.json()["error"] == "things:id.notsettable"


def test_deep_nesting_is_refused(http: requests.Session, thing_url: str) -> None:
    deep = b"[" * 500 + b"]" * 500
    response = http.put(
        f"{thing_url}/attributes/deep", data=deep, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    "params",
    [
        {"option": "sort(+nope)"},
        {"option": "size(x)"},
        {"option": "cursor(!!)"},
        {"option": "limit(1)"},
        {"namespaces": "1bad"},
        {"fields": "a,,b"},
        {"filter": "eq(" * 100},
    ],
)
def test_bad_search_parameters(
    twin_server: TwinServer, http: requests.Session, params: dict[str, str]
) -> None:
    response = http.get(f"{twin_server.url}/api/2/search/things", params=params)
    assert response.status_code == 400
    assert set(response.json()) >= {"status", "error", "message"}


def test_unknown_route_and_method_are_ditto_errors(
    twin_server: TwinServer, http: requests.Session
) -> None:
    missing = http.get(f"{twin_server.url}/api/2/nothing")
    assert missing.status_code == 404
    assert missing.json()["status"] == 404
    method = http.post(f"{twin_server.url}/api/2/policies/a:b")
    assert method.status_code == 405
    assert method.json()["error"] == "http:method.notallowed"
