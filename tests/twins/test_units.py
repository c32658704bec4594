"""Pointers, field selectors, RQL and the twin model, without a server."""

from __future__ import annotations

import pytest

from twins.definitions import KIND_FEATURES, thing_for_device
from twins.errors import DittoBadRequestError, InvalidPointerError
from twins.kinds import DeviceKind, Sector
from twins.models import Thing
from twins.pointer import delete_at, merge_patch, parse_pointer, set_at
from twins.service.fields import parse_fields, select_fields
from twins.service.rql import Compare, Logical, Op, parse_options, parse_rql
from twins.service.rql_match import matches


def test_pointer_parsing() -> None:
    assert parse_pointer("/attributes/a~1b/c~0") == ("attributes", "a/b", "c~")
    assert parse_pointer("") == ()
    with pytest.raises(InvalidPointerError, match="position 2"):
        parse_pointer("a//b")


def test_pointer_writes_copy() -> None:
    original = {"a": {"b": 1}}
    assert set_at(original, ("a", "c"), 2) == {"a": {"b": 1, "c": 2}}
    assert delete_at(original, ("a", "b")) == {"a": {}}
    assert original == {"a": {"b": 1}}


def test_merge_patch_rfc7396() -> None:
    target = {"a": "b", "c": {"d": "e", "f": "g"}}
    assert merge_patch(target, {"a": "z", "c": {"f": None}}) == {"a": "z", "c": {"d": "e"}}
    assert merge_patch({"a": [1]}, {"a": [2]}) == {"a": [2]}
    assert merge_patch({"a": 1}, [1]) == [1]


def test_field_selector_groups_and_wildcards() -> None:
    thing = {
        "thingId": "a:b",
        "attributes": {"site": "s", "room": "r", "x": 1},
        "features": {"f": {"properties": {"on": True, "y": 2}}, "g": {"properties": {}}},
    }
    pointers = parse_fields("thingId,attributes(site,room),features/*/properties/on")
    assert select_fields(thing, pointers) == {
        "thingId": "a:b",
        "attributes": {"site": "s", "room": "r"},
        "features": {"f": {"properties": {"on": True}}},
    }
    assert parse_fields("a/b(c(d,e),f)") == (
        ("a", "b", "c", "d"),
        ("a", "b", "c", "e"),
        ("a", "b", "f"),
    )
    with pytest.raises(DittoBadRequestError, match="not closed"):
        parse_fields("attributes(a")


def test_rql_tree() -> None:
    node = parse_rql('and(eq(attributes/site,"a\\"b"),in(_revision,1,2.5e1))')
    assert node == Logical(
        Op.AND,
        (
            Compare(Op.EQ, ("attributes", "site"), ('a"b',)),
            Compare(Op.IN, ("_revision",), (1, 25.0)),
        ),
    )
    assert parse_options("sort(+thingId,-attributes/a),size(3)").size == 3


def test_rql_types_never_mix() -> None:
    thing = {"attributes": {"n": 5, "s": "5", "b": True}}
    assert matches(parse_rql("eq(attributes/n,5)"), thing)
    assert not matches(parse_rql('eq(attributes/n,"5")'), thing)
    assert not matches(parse_rql("eq(attributes/b,1)"), thing)
    assert not matches(parse_rql('gt(attributes/s,"9")'), thing)
    assert not matches(parse_rql("ne(attributes/missing,1)"), thing)
    assert matches(parse_rql("not(eq(attributes/missing,1))"), thing)


@pytest.mark.parametrize("kind", list(DeviceKind))
def test_every_kind_makes_a_valid_thing(kind: DeviceKind) -> None:
    thing = thing_for_device("thaibinh.hcc:dev-1", kind, "thaibinh.hcc", Sector.HEALTH)
    Thing.model_validate(thing)
    assert set(thing["features"]) == {feature.name for feature in KIND_FEATURES[kind]}


def test_pre_authenticated_header_only_when_enabled() -> None:
    from twins.errors import DittoUnauthorizedError
    from twins.service.auth import Authenticator
    from twins.settings import TwinRole, TwinSettings

    headers = {"x-ditto-pre-authenticated": "nginx:alice"}
    trusting = Authenticator(TwinSettings(pre_authenticated_header=True), "pw")
    assert trusting.authenticate(headers).subjects == frozenset({"nginx:alice"})
    assert trusting.authenticate(headers).role is TwinRole.VIEWER
    with pytest.raises(DittoUnauthorizedError):
        Authenticator(TwinSettings(), "pw").authenticate(headers)
    with pytest.raises(DittoUnauthorizedError, match="issuer:subject"):
        trusting.authenticate({"x-ditto-pre-authenticated": "alice"})
