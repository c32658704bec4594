"""Where a request points: thing and policy ids, and the part of a thing it addresses.

Sub-resources are addressed by a `Resource`: its kind (``attribute``, ``property``, …) and
its pointer inside the thing (``features/queue/properties/waiting``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twins.errors import DittoBadRequestError, DittoError, InvalidPointerError
from twins.pointer import Pointer, parse_pointer
from twins.thing_id import is_ditto_thing_id


@dataclass(slots=True, frozen=True)
class Resource:
    """A part of a thing: its kind and where it is (``features/queue/properties``)."""

    kind: str
    pointer: Pointer


THING = Resource("thing", ())


def parse_resource(path: str) -> Resource:
    """The resource below ``/api/2/things/{thingId}``: ``""``, ``/attributes/site``, …"""
    try:
        keys = parse_pointer(path, where="resource path")
    except InvalidPointerError as exc:
        raise DittoBadRequestError(str(exc), error="json.pointer.invalid") from exc
    size = len(keys)
    if size == 0:
        return THING
    head = keys[0]
    if size == 1 and head in ("policyId", "definition", "attributes", "features"):
        return Resource(head, keys)
    if head == "attributes":
        return Resource("attribute", keys)
    if head == "features":
        if size == 2:
            return Resource("feature", keys)
        sub = keys[2]
        if size == 3 and sub == "definition":
            return Resource("featureDefinition", keys)
        if sub == "properties":
            return Resource("properties" if size == 3 else "property", keys)
        if sub == "desiredProperties":
            return Resource("desiredProperties" if size == 3 else "desiredProperty", keys)
    raise DittoError(
        f"there is no resource '{path}' in a thing; use policyId, definition,"
        " attributes/…, features/{id}/definition, …/properties/… or …/desiredProperties/…",
        status=404,
        error="things:resource.notfound",
    )


def check_thing_id(thing_id: str) -> str:
    """``thing_id`` when Ditto would accept it, else a 400 ``things:id.invalid``."""
    if not is_ditto_thing_id(thing_id):
        raise DittoBadRequestError(
            f"the thing id {thing_id!r} is not 'namespace:name' (namespace: dot-separated"
            " segments starting with a letter; name: no '/' or control characters; at most"
            " 256 characters)",
            error="things:id.invalid",
            description="Use an id such as 'thaibinh.hcc:counter-07'.",
        )
    return thing_id


def check_policy_id(policy_id: str) -> str:
    """``policy_id`` when valid, else a 400 ``policies:id.invalid``."""
    if not is_ditto_thing_id(policy_id):
        raise DittoBadRequestError(
            f"the policy id {policy_id!r} is not 'namespace:name'",
            error="policies:id.invalid",
            description="Use an id such as 'thaibinh.hcc:counter-07'.",
        )
    return policy_id


def namespace_of(entity_id: str) -> str:
    """The namespace of a thing or policy id: the part before the first ``:``."""
    return entity_id.partition(":")[0]


def json_type(value: Any) -> str:
    """How an error message names the JSON type of ``value``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
