"""Policies and authentication, enforced on every request."""

from __future__ import annotations

import pytest
import requests

from tests.twins.conftest import TwinServer
from twins.client import DittoClient
from twins.definitions import default_policy
from twins.errors import DittoForbiddenError, DittoNotFoundError, DittoUnauthorizedError


def _thing(server: TwinServer, thing_id: str) -> str:
    return f"{server.url}/api/2/things/{thing_id}"


def test_wrong_or_missing_credentials_are_401(twin_server: TwinServer) -> None:
    url = f"{twin_server.url}/api/2/things/test.x:y"
    missing = requests.get(url, timeout=5)
    assert missing.status_code == 401
    assert missing.json()["error"] == "gateway:authentication.failed"
    assert missing.headers["WWW-Authenticate"].startswith("Basic")
    wrong = requests.get(url, auth=("alice", "nope"), timeout=5)
    assert wrong.status_code == 401
    with (
        DittoClient(twin_server.url, "mallory", "x") as ditto,
        pytest.raises(DittoUnauthorizedError),
    ):
        ditto.get("test.x:y")


def test_pre_authenticated_header_is_ignored_unless_enabled(twin_server: TwinServer) -> None:
    response = requests.get(
        f"{twin_server.url}/api/2/whoami",
        headers={"x-ditto-pre-authenticated": "nginx:citytwin"},
        timeout=5,
    )
    assert response.status_code == 401


def test_creator_gets_a_default_policy_others_see_nothing(
    twin_server: TwinServer, namespace: str
) -> None:
    thing_id = f"{namespace}:alices"
    with twin_server.client("alice") as alice, twin_server.client("bob") as bob:
        assert alice.put(thing_id, "", {"attributes": {"owner": "alice"}}) is True
        policy = alice.get_policy(thing_id)
        assert "nginx:alice" in policy["entries"]["DEFAULT"]["subjects"]
        with pytest.raises(DittoNotFoundError) as hidden:
            bob.get(thing_id)
        assert hidden.value.error == "things:thing.notfound"
        assert bob.count(namespaces=[namespace]) == 0
        assert alice.count(namespaces=[namespace]) == 1
        with pytest.raises(DittoNotFoundError):
            bob.put(thing_id, "attributes/owner", "bob")
        assert alice.get(thing_id, "attributes/owner") == "alice"


def test_read_only_subject_gets_403_on_write(
    twin_server: TwinServer, client: DittoClient, namespace: str
) -> None:
    thing_id = f"{namespace}:shared"
    client.put_policy(default_policy(thing_id, "nginx:citytwin", readers=("nginx:bob",)))
    client.put_thing({"thingId": thing_id, "policyId": thing_id, "attributes": {"a": 1}})
    with twin_server.client("bob") as bob:
        assert bob.get(thing_id, "attributes/a") == 1
        with pytest.raises(DittoForbiddenError) as refused:
            bob.patch(thing_id, "attributes", {"a": 2})
        assert refused.value.error == "things:thing.notmodifiable"
        assert "'/attributes/a'" in refused.value.message
        with pytest.raises(DittoNotFoundError):
            bob.get_policy(thing_id)
    assert client.get(thing_id, "attributes/a") == 1


def test_grants_on_feature_paths(
    twin_server: TwinServer, client: DittoClient, namespace: str
) -> None:
    thing_id = f"{namespace}:partial"
    policy = {
        "policyId": thing_id,
        "entries": {
            "service": {
                "subjects": {"nginx:citytwin": {"type": "service"}},
                "resources": {
                    "thing:/": {"grant": ["READ", "WRITE"], "revoke": []},
                    "policy:/": {"grant": ["READ", "WRITE"], "revoke": []},
                },
            },
            "queue-staff": {
                "subjects": {"nginx:bob": {"type": "staff"}},
                "resources": {
                    "thing:/features/queue": {"grant": ["READ", "WRITE"], "revoke": []},
                    "thing:/features/queue/properties/secret": {
                        "grant": [],
                        "revoke": ["READ", "WRITE"],
                    },
                },
            },
        },
    }
    client.put_policy(policy)
    client.put_thing(
        {
            "thingId": thing_id,
            "policyId": thing_id,
            "attributes": {"site": "x"},
            "features": {
                "queue": {"properties": {"waiting": 1, "secret": "s"}},
                "staff": {"properties": {"present": True}},
            },
        }
    )
    with twin_server.client("bob") as bob:
        # as in Ditto, whoever sees part of a thing sees its id
        assert bob.get(thing_id) == {
            "thingId": thing_id,
            "features": {"queue": {"properties": {"waiting": 1}}},
        }
        bob.patch(thing_id, "features/queue/properties", {"waiting": 2})
        assert client.get(thing_id, "features/queue/properties/waiting") == 2
        with pytest.raises(DittoForbiddenError):
            bob.put(thing_id, "features/staff/properties/present", False)
        with pytest.raises(DittoForbiddenError):
            bob.put(thing_id, "features/queue", {"properties": {}})
        with pytest.raises(DittoNotFoundError):
            bob.get(thing_id, "features/queue/properties/secret")
        assert list(bob.search(namespaces=[namespace])) == [
            {"thingId": thing_id, "features": {"queue": {"properties": {"waiting": 2}}}}
        ]
        # a hidden field cannot be probed by filtering or sorting on it
        for hidden in ('eq(attributes/site,"x")', 'eq(features/queue/properties/secret,"s")'):
            assert bob.count(hidden, namespaces=[namespace]) == 0
            assert list(bob.search(hidden, namespaces=[namespace])) == []
        assert bob.count("gt(features/queue/properties/waiting,1)", namespaces=[namespace]) == 1
        assert list(bob.search(namespaces=[namespace], sort="+attributes/site")) == []


def test_policy_lockout_is_refused(
    twin_server: TwinServer, http: requests.Session, namespace: str
) -> None:
    policy_id = f"{namespace}:locked"
    body = {
        "entries": {
            "readers": {
                "subjects": {"nginx:bob": {"type": "x"}},
                "resources": {"thing:/": {"grant": ["READ"], "revoke": []}},
            }
        }
    }
    url = f"{twin_server.url}/api/2/policies/{policy_id}"
    with twin_server.session("alice") as alice:
        refused = alice.put(url, json=body)
        assert refused.status_code == 403
        allowed = alice.put(url, json=body, params={"allow-policy-lockout": "true"})
        assert allowed.status_code == 201
        assert alice.get(url).status_code == 404
    # Ditto has no super-user: citytwin's own account is locked out as well
    assert http.delete(url).status_code == 404
    assert http.get(url).status_code == 404


def test_invalid_policy_says_where(
    twin_server: TwinServer, http: requests.Session, namespace: str
) -> None:
    url = f"{twin_server.url}/api/2/policies/{namespace}:bad"
    response = http.put(
        url,
        json={"entries": {"x": {"subjects": {}, "resources": {"thing:/": {"grant": ["ALL"]}}}}},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "policies:policy.invalid"
    assert "entries/x/resources/thing:/grant/0" in response.json()["message"]


@pytest.mark.parametrize("resource", ["thing:/features/", "thing:/a//b"])
def test_a_resource_path_enforcement_cannot_walk_is_refused(
    twin_server: TwinServer, http: requests.Session, namespace: str, resource: str
) -> None:
    """Stored, it would break every request under the policy (and others' searches)."""
    url = f"{twin_server.url}/api/2/policies/{namespace}:typo"
    entry = {
        "subjects": {"nginx:bob": {"type": "x"}},
        "resources": {resource: {"grant": ["READ"], "revoke": []}},
    }
    owner = {
        "subjects": {"nginx:citytwin": {"type": "service"}},
        "resources": {"thing:/": {"grant": ["READ", "WRITE"], "revoke": []}},
    }
    response = http.put(url, json={"entries": {"owner": owner, "typo": entry}})
    assert response.status_code == 400
    assert response.json()["error"] == "policies:policy.invalid"
    assert "empty key" in response.json()["message"]
    assert http.get(url).status_code == 404
    with twin_server.session("bob") as bob:
        searched = bob.get(f"{twin_server.url}/api/2/search/things/count")
        assert searched.status_code == 200


def test_write_without_read_gets_dittos_answer(
    twin_server: TwinServer, client: DittoClient, namespace: str
) -> None:
    """A subject that may write a thing but not read it creates and replaces it blind."""
    thing_id = f"{namespace}:blind"
    policy = default_policy(thing_id, "nginx:citytwin")
    policy["entries"]["blind-writer"] = {
        "subjects": {"nginx:bob": {"type": "integration"}},
        "resources": {"thing:/": {"grant": ["WRITE"], "revoke": ["READ"]}},
    }
    client.put_policy(policy)
    url = _thing(twin_server, thing_id)
    body = {"policyId": thing_id, "attributes": {"a": 1}}
    with twin_server.session("bob") as bob:
        created = bob.put(url, json=body)
        assert created.status_code == 201
        assert created.json() == {"thingId": thing_id}
        replaced = bob.put(url, json={**body, "attributes": {"a": 2}})
        assert replaced.status_code == 204
        assert bob.put(f"{url}/attributes/a", json=3).status_code == 204
        assert bob.get(url).status_code == 404
    assert client.get(thing_id, "attributes/a") == 3


def test_search_follows_a_policy_as_it_changes(
    twin_server: TwinServer, client: DittoClient, namespace: str
) -> None:
    """Which policies let a caller search is kept between searches, never past a change."""
    thing_id = f"{namespace}:counted"
    client.put_policy(default_policy(thing_id, "nginx:citytwin"))
    client.put_thing({"thingId": thing_id, "policyId": thing_id, "attributes": {"a": 1}})
    with twin_server.client("bob") as bob:
        assert bob.count("eq(attributes/a,1)", namespaces=[namespace]) == 0
        client.put_policy(default_policy(thing_id, "nginx:citytwin", readers=("nginx:bob",)))
        assert bob.count("eq(attributes/a,1)", namespaces=[namespace]) == 1
        client.put_policy(default_policy(thing_id, "nginx:citytwin"))
        assert bob.count("eq(attributes/a,1)", namespaces=[namespace]) == 0
