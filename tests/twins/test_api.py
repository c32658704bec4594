"""Ditto HTTP API semantics of the embedded twin service, over real HTTP."""

from __future__ import annotations

import requests

from tests.twins.conftest import TwinServer
from twins.definitions import thing_for_device
from twins.kinds import DeviceKind, Sector

MERGE = {"Content-Type": "application/merge-patch+json"}


def _url(server: TwinServer, path: str) -> str:
    return f"{server.url}/api/2/things/{path}"


def _counter(thing_id: str, site: str = "thaibinh.hcc") -> dict[str, object]:
    return thing_for_device(thing_id, DeviceKind.COUNTER, site, Sector.PUBLIC_ADMINISTRATION)


def test_put_creates_then_replaces(
    twin_server: TwinServer, http: requests.Session, namespace: str
) -> None:
    thing_id = f"{namespace}:counter-01"
    created = http.put(_url(twin_server, thing_id), json=_counter(thing_id))
    assert created.status_code == 201
    assert created.headers["Location"] == f"/api/2/things/{thing_id}"
    assert created.headers["ETag"] == '"rev:1"'
    assert created.json()["attributes"]["site"] == "thaibinh.hcc"

    replaced = http.put(_url(twin_server, thing_id), json=_counter(thing_id, "other.site"))
    assert replaced.status_code == 204
    assert replaced.headers["ETag"] == '"rev:2"'
    got = http.get(_url(twin_server, thing_id))
    assert got.json()["attributes"]["site"] == "other.site"
    assert got.json()["policyId"] == thing_id


def test_sub_resources_read_and_write(
    twin_server: TwinServer, http: requests.Session, namespace: str
) -> None:
    thing_id = f"{namespace}:counter-02"
    http.put(_url(twin_server, thing_id), json=_counter(thing_id))
    base = _url(twin_server, thing_id)

    assert http.get(f"{base}/policyId").json() == thing_id
    assert http.get(f"{base}/definition").json() == "citytwin:counter:1.0.0"
    assert http.get(f"{base}/attributes/site").json() == "thaibinh.hcc"
    assert http.get(f"{base}/features/queue/definition").json() == ["citytwin:queue:1.0.0"]
    assert http.get(f"{base}/features/queue/properties/waiting").json() == 0

    put = http.put(f"{base}/attributes/location/room", json="A1")
    assert put.status_code == 201
    assert put.headers["Location"] == f"/api/2/things/{thing_id}/attributes/location/room"
    assert http.get(f"{base}/attributes/location").json() == {"room": "A1"}
    assert http.put(f"{base}/attributes/location/room", json="A2").status_code == 204

    desired = http.put(f"{base}/features/service/desiredProperties/open", json=True)
    assert desired.status_code == 204
    assert http.get(f"{base}/features/service/desiredProperties").json() == {"open": True}

    assert http.delete(f"{base}/attributes/location").status_code == 204
    missing = http.get(f"{base}/attributes/location")
    assert missing.status_code == 404
    assert missing.json()["error"] == "things:attribute.notfound"
    assert http.get(f"{base}/features/nope").json()["error"] == "things:feature.notfound"
    nope = http.put(f"{base}/features/nope/properties/x", json=1)
    assert nope.status_code == 404
    assert nope.json()["error"] == "things:feature.notfound"


def test_merge_patch_null_deletes(
    twin_server: TwinServer, http: requests.Session, namespace: str
) -> None:
    thing_id = f"{namespace}:counter-03"
    http.put(_url(twin_server, thing_id), json=_counter(thing_id))
    base = _url(twin_server, thing_id)
    patched = http.patch(
        base,
        data=b'{"attributes": {"room": "B2", "kind": null},'
        b' "features": {"queue": {"properties": {"waiting": 7}}}}',
        headers=MERGE,
    )
    assert patched.status_code == 204
    thing = http.get(base).json()
    assert thing["attributes"]["room"] == "B2"
    assert "kind" not in thing["attributes"]
    assert thing["features"]["queue"]["properties"] == {
        "waiting": 7,
        "served": 0,
        "averageWaitSeconds": 0.0,
    }

    sub = http.patch(f"{base}/features/queue/properties", data=b'{"served": 3}', headers=MERGE)
    assert sub.status_code == 204
    assert http.get(f"{base}/features/queue/properties/served").json() == 3

    wrong_type = http.patch(base, json={"attributes": {"x": 1}})
    assert wrong_type.status_code == 415


def test_patch_creates_missing_thing(
    twin_server: TwinServer, http: requests.Session, namespace: str
) -> None:
    thing_id = f"{namespace}:made-by-patch"
    response = http.patch(
        _url(twin_server, thing_id), data=b'{"attributes": {"a": 1, "b": null}}', headers=MERGE
    )
    assert response.status_code == 201
    assert http.get(_url(twin_server, thing_id)).json()["attributes"] == {"a": 1}


def test_etags_and_conditions(
    twin_server: TwinServer, http: requests.Session, namespace: str
) -> None:
    thing_id = f"{namespace}:counter-04"
    base = _url(twin_server, thing_id)
    assert (
        http.put(base, json=_counter(thing_id), headers={"If-None-Match": "*"}).status_code == 201
    )
    again = http.put(base, json=_counter(thing_id), headers={"If-None-Match": "*"})
    assert again.status_code == 412
    assert again.json()["error"] == "things:precondition.failed"

    etag = http.get(base).headers["ETag"]
    assert etag == '"rev:1"'
    assert http.get(base, headers={"If-None-Match": etag}).status_code == 304
    assert http.put(f"{base}/attributes/x", json=1, headers={"If-Match": etag}).status_code == 201
    stale = http.put(f"{base}/attributes/x", json=2, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert http.get(f"{base}/attributes/x").json() == 1

    part = http.get(f"{base}/attributes/x")
    assert part.headers["ETag"].startswith('"hash:')
    ok = http.put(f"{base}/attributes/x", json=3, headers={"If-Match": part.headers["ETag"]})
    assert ok.status_code == 204
    assert http.get(
        f"{base}/_revision".replace("/_revision", ""), params={"fields": "_revision"}
    ).json() == {"_revision": 3}


def test_response_required_false_gives_202(
    twin_server: TwinServer, http: requests.Session, namespace: str
) -> None:
    thing_id = f"{namespace}:counter-05"
    base = _url(twin_server, thing_id)
    response = http.put(base, json=_counter(thing_id), params={"response-required": "false"})
    assert response.status_code == 202
    assert response.content == b""
    assert http.get(base).status_code == 200


def test_fields_selection(twin_server: TwinServer, http: requests.Session, namespace: str) -> None:
    thing_id = f"{namespace}:counter-06"
    base = _url(twin_server, thing_id)
    http.put(base, json=_counter(thing_id))
    grouped = http.get(base, params={"fields": "thingId,attributes(site,kind)"}).json()
    assert grouped == {
        "thingId": thing_id,
        "attributes": {"site": "thaibinh.hcc", "kind": "counter"},
    }
    wildcard = http.get(base, params={"fields": "features/*/properties/online"}).json()
    assert wildcard == {"features": {"connectivity": {"properties": {"online": False}}}}
    meta = http.get(base, params={"fields": "_revision,_created,_modified,_namespace"}).json()
    assert meta["_revision"] == 1
    assert meta["_namespace"] == namespace
    assert meta["_created"].endswith("Z")
    bad = http.get(base, params={"fields": "attributes(site"})
    assert bad.status_code == 400
    assert bad.json()["error"] == "json.fieldselector.invalid"


def test_get_many_by_ids(twin_server: TwinServer, http: requests.Session, namespace: str) -> None:
    ids = [f"{namespace}:c{i}" for i in range(3)]
    for thing_id in ids:
        http.put(_url(twin_server, thing_id), json=_counter(thing_id))
    listed = http.get(
        f"{twin_server.url}/api/2/things",
        params={"ids": f"{ids[2]},{namespace}:missing,{ids[0]}", "fields": "thingId"},
    )
    assert listed.json() == [{"thingId": ids[2]}, {"thingId": ids[0]}]


def test_delete_thing_keeps_policy(
    twin_server: TwinServer, http: requests.Session, namespace: str
) -> None:
    thing_id = f"{namespace}:gone"
    base = _url(twin_server, thing_id)
    http.put(base, json={"attributes": {"a": 1}})
    assert http.delete(base).status_code == 204
    assert http.get(base).status_code == 404
    assert http.delete(base).json()["error"] == "things:thing.notfound"
    assert http.get(f"{twin_server.url}/api/2/policies/{thing_id}").status_code == 200


def test_post_creates_with_generated_id(twin_server: TwinServer, http: requests.Session) -> None:
    response = http.post(
        f"{twin_server.url}/api/2/things",
        params={"namespace": "test.generated"},
        json={"attributes": {"a": 1}},
    )
    assert response.status_code == 201
    assert response.json()["thingId"].startswith("test.generated:")
