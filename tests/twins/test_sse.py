"""The change stream (server-sent events), read by the Ditto client over real HTTP."""

from __future__ import annotations

import asyncio

import pytest

from tests.twins.conftest import TwinServer
from twins.client import DittoClient
from twins.definitions import default_policy
from twins.errors import DittoBadRequestError
from twins.service.auth import Caller
from twins.service.sse import Change, ChangeHub, Subscription


def test_changed_part_is_sent(client: DittoClient, namespace: str) -> None:
    thing_id = f"{namespace}:counter-1"
    client.put_thing({"thingId": thing_id, "attributes": {"site": "a"}})
    with client.watch(namespaces=[namespace], read_timeout=30) as stream:
        client.patch(thing_id, "features", {"queue": {"properties": {"waiting": 6}}})
        client.put(thing_id, "attributes/site", "b")
        client.delete(thing_id, "attributes/site")
        first = next(stream)
        assert first == {
            "thingId": thing_id,
            "features": {"queue": {"properties": {"waiting": 6}}},
        }
        assert next(stream) == {"thingId": thing_id, "attributes": {"site": "b"}}
        assert next(stream) == {"thingId": thing_id, "attributes": {"site": None}}


def test_filters_ids_filter_and_fields(client: DittoClient, namespace: str) -> None:
    wanted = f"{namespace}:wanted"
    other = f"{namespace}:other"
    for thing_id in (wanted, other):
        client.put_thing({"thingId": thing_id, "attributes": {"site": "a", "n": 0}})
    with client.watch(
        ids=[wanted, other],
        filter="gt(attributes/n,1)",
        fields="thingId,attributes/n,_revision",
        read_timeout=30,
    ) as stream:
        client.patch(other, "attributes", {"n": 1})  # filter does not match
        client.patch(wanted, "attributes", {"site": "b"})  # n is 0: no match
        client.patch(wanted, "attributes", {"n": 5})
        client.patch(other, "attributes", {"site": "c", "n": 7})
        assert next(stream) == {"thingId": wanted, "attributes": {"n": 5}, "_revision": 3}
        assert next(stream) == {"thingId": other, "attributes": {"n": 7}, "_revision": 3}


def test_events_respect_policies(
    twin_server: TwinServer, client: DittoClient, namespace: str
) -> None:
    hidden = f"{namespace}:hidden"
    mine = f"{namespace}:bobs"
    client.put_thing({"thingId": hidden, "attributes": {"a": 0}})
    with twin_server.client("bob") as bob:
        bob.put_thing({"thingId": mine, "attributes": {"a": 0}})
        with bob.watch(namespaces=[namespace], read_timeout=30) as stream:
            client.patch(hidden, "attributes", {"a": 1})
            bob.patch(mine, "attributes", {"a": 2})
            assert next(stream) == {"thingId": mine, "attributes": {"a": 2}}


def test_thing_deletion_is_announced(client: DittoClient, namespace: str) -> None:
    thing_id = f"{namespace}:doomed"
    client.put_thing({"thingId": thing_id})
    with client.watch(ids=[thing_id], read_timeout=30) as stream:
        client.delete(thing_id)
        assert next(stream) == {"thingId": thing_id, "_revision": 2, "_deleted": True}


def test_bad_filter_is_refused_before_streaming(client: DittoClient) -> None:
    with pytest.raises(DittoBadRequestError):
        client.watch(filter="eq(attributes/a")


@pytest.mark.asyncio
async def test_slow_subscriber_is_closed_not_grown() -> None:
    hub = ChangeHub(queue_size=10)
    slow = hub.subscribe(Subscription(Caller(frozenset({"nginx:x"}))), "slow")
    for revision in range(11):
        hub.publish(Change("a:b", "a:b", revision, "now", {}, {}))
    assert slow.dropped
    assert len(hub) == 0
    assert await asyncio.wait_for(slow.queue.get(), 1) is None


def test_filter_sees_the_changed_data_and_extra_fields(client: DittoClient, namespace: str) -> None:
    """As in Ditto: a filter on an unchanged attribute needs it in extraFields."""
    thing_id = f"{namespace}:counter-1"
    client.put_thing({"thingId": thing_id, "attributes": {"site": "a"}})
    site = 'eq(attributes/site,"a")'
    with (
        client.watch(ids=[thing_id], filter=site, read_timeout=30) as bare,
        client.watch(
            ids=[thing_id], filter=site, extra_fields="attributes/site", read_timeout=30
        ) as enriched,
    ):
        client.patch(thing_id, "features", {"queue": {"properties": {"waiting": 6}}})
        client.patch(thing_id, "attributes", {"site": "a", "floor": 2})
        assert next(enriched) == {
            "thingId": thing_id,
            "attributes": {"site": "a"},
            "features": {"queue": {"properties": {"waiting": 6}}},
        }
        assert next(enriched) == {"thingId": thing_id, "attributes": {"site": "a", "floor": 2}}
        # without extraFields the feature change carried no site: only the second matched
        assert next(bare) == {"thingId": thing_id, "attributes": {"site": "a", "floor": 2}}


def test_a_change_the_caller_may_not_read_sends_nothing(
    twin_server: TwinServer, client: DittoClient, namespace: str
) -> None:
    thing_id = f"{namespace}:partly-secret"
    policy = default_policy(thing_id, "nginx:citytwin")
    policy["entries"]["bob"] = {
        "subjects": {"nginx:bob": {"type": "x"}},
        "resources": {
            "thing:/": {"grant": ["READ"], "revoke": []},
            "thing:/attributes/secret": {"grant": [], "revoke": ["READ"]},
        },
    }
    client.put_policy(policy)
    client.put_thing({"thingId": thing_id, "policyId": thing_id, "attributes": {"secret": 0}})
    with (
        twin_server.client("bob") as bob,
        bob.watch(ids=[thing_id], extra_fields="attributes", read_timeout=30) as stream,
    ):
        client.patch(thing_id, "attributes", {"secret": 1})
        client.put(thing_id, "attributes/secret", 2)
        client.patch(thing_id, "attributes", {"public": "yes"})
        assert next(stream) == {"thingId": thing_id, "attributes": {"public": "yes"}}
