"""The Ditto client against the embedded service over real HTTP."""

from __future__ import annotations

import pytest

from tests.twins.conftest import TwinServer
from twins.client import DittoClient
from twins.definitions import default_policy, thing_for_device
from twins.errors import (
    DittoBadRequestError,
    DittoError,
    DittoNotFoundError,
    DittoPreconditionFailedError,
    DittoUnavailableError,
    TwinsError,
)
from twins.kinds import DeviceKind, Sector


def test_create_read_patch_delete(client: DittoClient, namespace: str) -> None:
    thing_id = f"{namespace}:kiosk-1"
    thing = thing_for_device(thing_id, DeviceKind.KIOSK, "thaibinh.hcc", Sector.HEALTH)
    client.create_thing(thing)
    assert client.get(thing_id, "attributes/kind") == "kiosk"
    client.patch(thing_id, "features/tickets/properties", {"issued": 4, "lastTicket": "A004"})
    assert client.get(thing_id, "features/tickets/properties/issued") == 4
    assert client.get_things([thing_id], fields="thingId") == [{"thingId": thing_id}]
    client.delete(thing_id, "features/tickets/properties/lastTicket")
    assert "lastTicket" not in client.get(thing_id, "features/tickets/properties")
    client.delete(thing_id)
    with pytest.raises(DittoNotFoundError) as missing:
        client.get(thing_id)
    assert missing.value.status == 404
    assert missing.value.error == "things:thing.notfound"
    assert thing_id in missing.value.message


def test_conditional_writes(client: DittoClient, namespace: str) -> None:
    thing_id = f"{namespace}:counter-1"
    client.create_thing({"thingId": thing_id, "attributes": {"n": 0}})
    with pytest.raises(DittoPreconditionFailedError):
        client.create_thing({"thingId": thing_id})
    seen = client.get_versioned(thing_id)
    assert seen.etag == '"rev:1"'
    assert client.get_versioned(thing_id, if_none_match=seen.etag).value is None
    client.patch(thing_id, "attributes", {"n": 1}, if_match=seen.etag)
    with pytest.raises(DittoPreconditionFailedError) as stale:
        client.patch(thing_id, "attributes", {"n": 2}, if_match=seen.etag)
    assert stale.value.error == "things:precondition.failed"
    assert client.get(thing_id, "attributes/n") == 1


def test_policies(client: DittoClient, namespace: str) -> None:
    policy_id = f"{namespace}:policy"
    assert client.put_policy(default_policy(policy_id, "nginx:citytwin")) is True
    assert client.put_policy(default_policy(policy_id, "nginx:citytwin")) is False
    assert client.get_policy(policy_id)["policyId"] == policy_id
    client.delete_policy(policy_id)
    with pytest.raises(DittoNotFoundError):
        client.get_policy(policy_id)


def test_errors_are_typed_and_carry_ditto_codes(client: DittoClient) -> None:
    with pytest.raises(DittoBadRequestError) as bad:
        client.get("not-an-id")
    assert bad.value.error == "things:id.invalid"
    assert isinstance(bad.value, TwinsError)
    assert isinstance(bad.value, DittoError)


def test_unreachable_service_is_unavailable() -> None:
    with (
        DittoClient("http://127.0.0.1:9", "x", "y", timeout=2) as ditto,
        pytest.raises(DittoUnavailableError),
    ):
        ditto.get("a:b")


def test_search_pages_through_everything(
    twin_server: TwinServer, client: DittoClient, namespace: str
) -> None:
    for index in range(7):
        client.put_thing({"thingId": f"{namespace}:t{index}", "attributes": {"i": index}})
    found = list(client.search("ge(attributes/i,2)", namespaces=[namespace], page_size=2))
    assert [thing["attributes"]["i"] for thing in found] == [2, 3, 4, 5, 6]
    assert client.count("ge(attributes/i,2)", namespaces=[namespace]) == 5
