"""Search with RQL, sorting, cursor paging and counting, over real HTTP."""

from __future__ import annotations

import base64

import pytest
import requests

from tests.twins.conftest import TwinServer
from twins.client import DittoClient
from twins.definitions import thing_for_device
from twins.errors import DittoBadRequestError
from twins.kinds import DeviceKind, Sector
from twins.service.rql import SearchOptions
from twins.service.search import _fingerprint


@pytest.fixture
def counters(client: DittoClient, namespace: str) -> list[str]:
    ids = []
    for index in range(12):
        thing_id = f"{namespace}:counter-{index:02d}"
        thing = thing_for_device(
            thing_id,
            DeviceKind.COUNTER,
            "site.a" if index % 2 == 0 else "site.b",
            Sector.PUBLIC_ADMINISTRATION,
            {"name": f"Quầy {index}", "floor": index % 3},
        )
        thing["features"]["queue"]["properties"]["waiting"] = index
        client.put_thing(thing)
        ids.append(thing_id)
    return ids


def _ids(items: list[dict[str, object]]) -> list[object]:
    return [item["thingId"] for item in items]


def test_the_issue_query(client: DittoClient, namespace: str, counters: list[str]) -> None:
    found = client.search(
        'and(eq(attributes/site,"site.a"),gt(features/queue/properties/waiting,5))',
        namespaces=[namespace],
    )
    assert _ids(list(found)) == [counters[6], counters[8], counters[10]]


@pytest.mark.parametrize(
    ("rql", "expected"),
    [
        ("eq(attributes/floor,0)", [0, 3, 6, 9]),
        ('eq(attributes/floor,"0")', []),
        ("ne(attributes/floor,0)", [1, 2, 4, 5, 7, 8, 10, 11]),
        ("ge(features/queue/properties/waiting,10)", [10, 11]),
        ("lt(features/queue/properties/waiting,2)", [0, 1]),
        ("le(features/queue/properties/waiting,1)", [0, 1]),
        ("in(features/queue/properties/waiting,3,4,99)", [3, 4]),
        ('like(attributes/name,"Quầy 1*")', [1, 10, 11]),
        ('ilike(attributes/name,"QUẦY ?")', list(range(10))),
        ("exists(attributes/floor)", list(range(12))),
        ("not(exists(features/queue/properties/waiting))", []),
        ('or(eq(thingId,"NS:counter-03"),eq(features/*/properties/waiting,11))', [3, 11]),
        ("eq(features/connectivity/properties/online,false)", list(range(12))),
        ("eq(features/service/properties/currentTicket,null)", list(range(12))),
        ("gt(_revision,0)", list(range(12))),
    ],
)
def test_rql_operators(
    client: DittoClient, namespace: str, counters: list[str], rql: str, expected: list[int]
) -> None:
    found = client.search(rql.replace("NS", namespace), namespaces=[namespace])
    assert _ids(list(found)) == [counters[i] for i in expected]


def test_sort_size_and_cursor(client: DittoClient, namespace: str, counters: list[str]) -> None:
    first = client.search_page(
        namespaces=[namespace], sort="-features/queue/properties/waiting", size=5
    )
    assert _ids(first.items) == [counters[i] for i in (11, 10, 9, 8, 7)]
    assert first.cursor is not None
    second = client.search_page(
        namespaces=[namespace],
        sort="-features/queue/properties/waiting",
        size=5,
        cursor=first.cursor,
    )
    assert _ids(second.items) == [counters[i] for i in (6, 5, 4, 3, 2)]
    everything = list(client.search(namespaces=[namespace], page_size=5))
    assert _ids(everything) == counters
    with pytest.raises(DittoBadRequestError) as wrong_cursor:
        client.search_page(namespaces=[namespace], size=5, cursor=first.cursor)
    assert wrong_cursor.value.error == "thing-search:option.invalid"


def test_default_and_largest_page(
    twin_server: TwinServer, http: requests.Session, namespace: str, counters: list[str]
) -> None:
    url = f"{twin_server.url}/api/2/search/things"
    page = http.get(url, params={"namespaces": namespace, "option": "size(200)"}).json()
    assert len(page["items"]) == 12
    assert "cursor" not in page
    too_big = http.get(url, params={"option": "size(201)"})
    assert too_big.status_code == 400
    assert "200" in too_big.json()["message"]


def test_post_search_and_count(
    twin_server: TwinServer, http: requests.Session, namespace: str, counters: list[str]
) -> None:
    posted = http.post(
        f"{twin_server.url}/api/2/search/things",
        data={
            "filter": 'eq(attributes/site,"site.b")',
            "namespaces": namespace,
            "fields": "thingId",
        },
    )
    assert posted.status_code == 200
    assert posted.json()["items"][0] == {"thingId": counters[1]}
    count = http.get(
        f"{twin_server.url}/api/2/search/things/count",
        params={"filter": 'eq(attributes/site,"site.b")', "namespaces": namespace},
    )
    assert count.text == "6"


@pytest.mark.parametrize(
    ("rql", "where"),
    [
        ('eq(attributes/site,"x"', "position"),
        ("eq(attributes/site,x)", "position 20"),
        ("foo(attributes/site,1)", "unknown operator 'foo'"),
        ("eq(attribute/site,1)", "not searchable"),
        ("gt(attributes/a,true)", "needs a number or a string"),
        ("like(attributes/a,5)", "quoted pattern"),
        ("eq(attributes//a,1)", "empty key"),
        ("and()", "expected an operator"),
        ("eq(attributes/n,99999999999999999999999)", "outside the 64-bit integers"),
        ("eq(thingId,-99999999999999999999)", "outside the 64-bit integers"),
    ],
)
def test_bad_rql_says_what_and_where(client: DittoClient, rql: str, where: str) -> None:
    with pytest.raises(DittoBadRequestError) as caught:
        client.search_page(rql)
    assert caught.value.error == "rql.expression.invalid"
    assert where in caught.value.message


def test_search_uses_the_site_index(twin_server: TwinServer) -> None:
    from twins.service.rql import parse_rql
    from twins.service.store import SearchQuery

    plan = twin_server.store.explain(
        SearchQuery(
            filter=parse_rql('and(eq(attributes/site,"x"),gt(features/queue/properties/waiting,5))')
        )
    )
    assert any("things_ix_attributes_site" in step for step in plan)


def test_a_forged_cursor_is_refused(twin_server: TwinServer, http: requests.Session) -> None:
    """A cursor carries an offset; one no search gave out is a 400, never a 5xx."""
    stamp = _fingerprint("", (), SearchOptions())
    huge = base64.urlsafe_b64encode(f"{stamp}:{10**30}".encode()).decode().rstrip("=")
    response = http.get(
        f"{twin_server.url}/api/2/search/things", params={"option": f"cursor({huge})"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "thing-search:option.invalid"


@pytest.fixture
def tagged(client: DittoClient, namespace: str) -> dict[str, str]:
    """Things whose ``tags`` are an array, a scalar, empty, null or missing."""
    attributes: dict[str, dict[str, object]] = {
        "list": {"tags": ["lobby", "east"], "floors": [1, 2]},
        "scalar": {"tags": "lobby", "floors": 3},
        "empty-list": {"tags": [], "note": ""},
        "null": {"tags": None, "note": {}},
        "missing": {"note": "x"},
    }
    ids = {}
    for name, values in attributes.items():
        thing_id = f"{namespace}:{name}"
        client.put_thing({"thingId": thing_id, "attributes": values})
        ids[thing_id] = name
    return ids


@pytest.mark.parametrize(
    ("rql", "expected"),
    [
        ('eq(attributes/tags,"lobby")', ["list", "scalar"]),
        ('eq(attributes/tags,"east")', ["list"]),
        ('in(attributes/tags,"east","west")', ["list"]),
        ("gt(attributes/floors,1)", ["list", "scalar"]),
        ('like(attributes/tags,"ea*")', ["list"]),
        # ne: only things that have the field, and no element equal
        ('ne(attributes/tags,"lobby")', ["empty-list", "null"]),
        ('not(eq(attributes/tags,"lobby"))', ["empty-list", "missing", "null"]),
        ("empty(attributes/tags)", ["empty-list", "missing", "null"]),
        ("empty(attributes/note)", ["empty-list", "list", "null", "scalar"]),
        ("not(empty(attributes/tags))", ["list", "scalar"]),
        ("exists(attributes/tags)", ["empty-list", "list", "null", "scalar"]),
    ],
)
def test_arrays_ne_and_empty_as_ditto_searches(
    client: DittoClient, namespace: str, tagged: dict[str, str], rql: str, expected: list[str]
) -> None:
    found = client.search(rql, namespaces=[namespace], sort="+thingId")
    assert sorted(tagged[str(thing_id)] for thing_id in _ids(list(found))) == expected
    assert client.count(rql, namespaces=[namespace]) == len(expected)
