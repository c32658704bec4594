"""The twin model, as Eclipse Ditto defines it: things with features, and their policies.

A thing is ``{thingId, policyId, definition, attributes, features}`` plus the read-only
``_revision`` (a number), ``_created`` and ``_modified`` (ISO-8601 UTC). A feature is
``{definition, properties, desiredProperties}``: reported state goes to ``properties``,
wanted state to ``desiredProperties``. A policy grants subjects (``nginx:alice``) READ /
WRITE on resources (``thing:/``, ``thing:/features/queue``, ``policy:/``).

The models validate what crosses the HTTP boundary; stored things stay plain JSON objects
(`validate_thing` checks one and says where it is wrong).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    model_validator,
)

from twins.pointer import parse_pointer
from twins.thing_id import is_ditto_thing_id
from twins.validation import pointer, problems

DEFINITION_PATTERN = re.compile(
    r"^(?:[_a-zA-Z0-9\-.]+:[_a-zA-Z0-9\-.]+:[_a-zA-Z0-9\-.]+|https?://[^\s]+)$"
)
FEATURE_ID_PATTERN = re.compile(r"^[^/\x00-\x1f\x7f]+$")
RESOURCE_PATTERN = re.compile(r"^(?:thing|policy|message):/.*$")
READ_ONLY_FIELDS = frozenset({"_revision", "_created", "_modified", "_metadata", "_namespace"})
MAX_JSON_DEPTH = 64


def _check_definition(value: str) -> str:
    if not DEFINITION_PATTERN.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a definition 'namespace:name:version' (e.g."
            " 'citytwin:counter:1.0.0') nor an http(s) URL"
        )
    return value


def _check_entity_id(value: str) -> str:
    if not is_ditto_thing_id(value):
        raise ValueError(
            f"{value!r} is not an entity id 'namespace:name' (namespace: dot-separated"
            " segments starting with a letter; name: no '/' or control characters)"
        )
    return value


def _check_feature_id(value: str) -> str:
    if not FEATURE_ID_PATTERN.fullmatch(value):
        raise ValueError(f"feature id {value!r} is empty or contains '/' or a control character")
    return value


def _check_keys(value: JsonValue) -> JsonValue:
    """Refuse object keys Ditto refuses: empty, or containing ``/`` or control characters."""
    stack: list[tuple[JsonValue, str]] = [(value, "")]
    while stack:
        item, where = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if not FEATURE_ID_PATTERN.fullmatch(key):
                    raise ValueError(
                        f"key {key!r} at '{where or '/'}' is empty or contains '/' or a"
                        " control character"
                    )
                stack.append((child, f"{where}/{key}"))
        elif isinstance(item, list):
            stack.extend((child, f"{where}/{index}") for index, child in enumerate(item))
    return value


Definition = Annotated[str, AfterValidator(_check_definition)]
EntityId = Annotated[str, AfterValidator(_check_entity_id)]
FeatureId = Annotated[str, AfterValidator(_check_feature_id)]
JsonObject = Annotated[dict[str, JsonValue], AfterValidator(_check_keys)]


class _NoNulls(BaseModel):
    """Structural fields may be absent, but never ``null``."""

    @model_validator(mode="before")
    @classmethod
    def _refuse_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                if value is None:
                    raise ValueError(f"'{key}' must not be null (leave it out instead)")
        return data


class Feature(_NoNulls):
    """One feature of a thing: reported ``properties`` and wanted ``desiredProperties``."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)

    definition: list[Definition] | None = Field(
        default=None, description="Definitions the feature follows."
    )
    properties: JsonObject | None = Field(default=None, description="Reported state.")
    desired_properties: JsonObject | None = Field(
        default=None, alias="desiredProperties", description="Wanted state."
    )


class Thing(_NoNulls):
    """A thing as stored: what a client may write, without the read-only ``_`` fields."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)

    thing_id: EntityId = Field(alias="thingId", description="namespace:name")
    policy_id: EntityId = Field(alias="policyId", description="The policy guarding the thing.")
    definition: Definition | None = Field(default=None, description="What the thing is.")
    attributes: JsonObject | None = Field(default=None, description="Static facts.")
    features: dict[FeatureId, Feature] | None = Field(default=None, description="Features by id.")


class Permission(StrEnum):
    """What a policy grants or revokes."""

    READ = "READ"
    WRITE = "WRITE"


class Subject(BaseModel):
    """A subject of a policy entry (``nginx:alice``); its type is documentation only."""

    model_config = ConfigDict(extra="forbid", strict=True)

    type: str = Field(description="What kind of subject this is, for people.")
    expiry: str | None = Field(default=None, description="Not enforced by citytwin.")


class ResourceGrant(BaseModel):
    """Permissions granted and revoked on one resource."""

    model_config = ConfigDict(extra="forbid")

    grant: list[Permission] = Field(default_factory=list, description="Granted.")
    revoke: list[Permission] = Field(default_factory=list, description="Revoked.")

    @model_validator(mode="before")
    @classmethod
    def _null_is_empty(cls, data: Any) -> Any:
        # Ditto's own examples write "revoke": null for "nothing revoked".
        if isinstance(data, dict):
            return {key: [] if value is None else value for key, value in data.items()}
        return data


def _check_resource(value: str) -> str:
    # the path must be a pointer enforcement can walk: "thing:/x/" or "thing:/a//b" would
    # be stored and then fail every request the policy governs
    parse_pointer(value.partition(":")[2], where="resource")
    return value


ResourceKey = Annotated[
    str,
    Field(pattern=RESOURCE_PATTERN.pattern, description="thing:/…, policy:/…, message:/…"),
    AfterValidator(_check_resource),
]


class PolicyEntry(BaseModel):
    """Who (subjects) may do what (resources)."""

    model_config = ConfigDict(extra="forbid")

    subjects: dict[str, Subject] = Field(default_factory=dict, description="Who.")
    resources: dict[ResourceKey, ResourceGrant] = Field(
        default_factory=dict, description="What, by resource."
    )
    importable: str | None = Field(default=None, description="Accepted, not used.")


class Policy(BaseModel):
    """A policy: labelled entries; ``policyId`` comes from the URL when absent."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    policy_id: EntityId | None = Field(default=None, alias="policyId", description="Its id.")
    entries: dict[str, PolicyEntry] = Field(description="Entries by label.")


def json_depth_exceeds(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when objects/arrays nest deeper than ``limit`` (checked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def describe_validation_error(exc: ValidationError, *, prefix: str = "") -> str:
    """``at '/features/queue/properties': Input should be a valid dictionary`` parts, joined."""
    return "; ".join(
        f"at '{pointer(problem.loc, prefix)}': {problem.message}" for problem in problems(exc)[:5]
    )
