"""What the twin API does to things and policies, independent of HTTP.

`TwinService` reads and writes through `TwinStore` transactions (one per request),
checks ``If-Match``/``If-None-Match``, enforces policies, validates the resulting thing as
a whole (so a write into ``attributes/…`` cannot leave a thing Ditto would refuse) and
publishes each committed change to the `ChangeHub`.

Sub-resources are addressed by a `Resource`: its kind (``attribute``, ``property``, …) and
its pointer inside the thing (``features/queue/properties/waiting``).
"""

from __future__ import annotations

import base64
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError

from twins.errors import (
    DittoBadRequestError,
    DittoConflictError,
    DittoError,
    DittoForbiddenError,
    DittoPreconditionFailedError,
    DittoTooLargeError,
    InvalidPointerError,
)
from twins.models import (
    READ_ONLY_FIELDS,
    Policy,
    Thing,
    describe_validation_error,
)
from twins.pointer import (
    Pointer,
    delete_at,
    format_pointer,
    get_at,
    has_at,
    merge_patch,
    nest,
    parse_pointer,
)
from twins.service.auth import Caller
from twins.service.errors import (
    NotModifiedError,
    policy_not_found,
    resource_not_found,
    thing_not_found,
)
from twins.service.fields import select_fields
from twins.service.policies import MISSING, READ, WRITE, Enforcer, EnforcerCache
from twins.service.rql import Node, SearchOptions, referenced_fields
from twins.service.sse import Change, ChangeHub
from twins.service.store import SearchQuery, StoredPolicy, StoredThing, Transaction, TwinStore
from twins.thing_id import is_ditto_thing_id

logger = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 200
MAX_CURSOR_OFFSET = 2**62  # beyond any store; a larger one was forged and overflows SQLite
META_FIELDS = ("_namespace", "_revision", "_created", "_modified")
ALWAYS_VISIBLE = ("thingId", "_namespace")
"""Shown to whoever may read any part of a thing: it was named or found by them anyway."""
_NOBODY = Enforcer.build({}, frozenset(), "thing")


@dataclass(slots=True, frozen=True)
class Resource:
    """A part of a thing: its kind and where it is (``features/queue/properties``)."""

    kind: str
    pointer: Pointer


def parse_resource(path: str) -> Resource:
    """The resource below ``/api/2/things/{thingId}``: ``""``, ``/attributes/site``, …"""
    try:
        keys = parse_pointer(path, where="resource path")
    except InvalidPointerError as exc:
        raise DittoBadRequestError(str(exc), error="json.pointer.invalid") from exc
    size = len(keys)
    if size == 0:
        return Resource("thing", ())
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


def revision_tag(revision: int) -> str:
    """The ETag of a whole thing or policy: ``"rev:7"``."""
    return f'"rev:{revision}"'


def value_tag(value: Any) -> str:
    """The ETag of a sub-resource: a hash of its value, ``"hash:…"`` as Ditto does."""
    digest = hashlib.blake2b(orjson.dumps(value, option=orjson.OPT_SORT_KEYS), digest_size=8)
    return f'"hash:{digest.hexdigest()}"'


def _tags(header: str) -> list[str]:
    tags = []
    for raw in header.split(","):
        tag = raw.strip().removeprefix("W/")
        if tag and not tag.startswith('"') and tag != "*":
            tag = f'"{tag}"'
        if tag:
            tags.append(tag)
    return tags


@dataclass(slots=True, frozen=True)
class Conditions:
    """``If-Match`` / ``If-None-Match`` of a request."""

    if_match: str | None = None
    if_none_match: str | None = None

    def check(self, current: str | None, revision: str | None, *, reading: bool) -> None:
        """Raise 412 (or 304 for a read) when the conditions do not hold.

        ``current`` is the ETag of the resource (None: it does not exist); ``revision``
        the thing's ``"rev:N"``, accepted by ``If-Match`` on sub-resources too.
        """
        if self.if_match is not None:
            tags = _tags(self.if_match)
            if revision is not None and revision in tags:
                pass  # the whole thing is as the caller last saw it
            elif current is None or ("*" not in tags and current not in tags):
                raise DittoPreconditionFailedError(
                    f"The comparison of precondition header 'if-match' for the requested"
                    f" resource evaluated to false. Header value: '{self.if_match}', actual"
                    f" entity-tag: '{current or 'none (it does not exist)'}'.",
                    description="The comparison of the provided precondition header"
                    " 'if-match' with the current ETag value of the requested resource"
                    " evaluated to false. Check the value of your conditional header value.",
                    headers={"ETag": current} if current else {},
                )
        if self.if_none_match is not None and current is not None:
            tags = _tags(self.if_none_match)
            if "*" in tags or current in tags:
                if reading:
                    raise NotModifiedError(current)
                raise DittoPreconditionFailedError(
                    f"The comparison of precondition header 'if-none-match' for the requested"
                    f" resource evaluated to false. Header value: '{self.if_none_match}',"
                    f" actual entity-tag: '{current}'.",
                    description="The resource already exists or has this ETag.",
                    headers={"ETag": current},
                )


@dataclass(slots=True, frozen=True)
class Reply:
    """What a request gives back: JSON body bytes (None: no body), ETag, created or not."""

    body: bytes | None
    etag: str | None = None
    created: bool = False
    location: str | None = None


def _leaves(patch: Any, prefix: Pointer) -> list[Pointer]:
    if not isinstance(patch, dict) or not patch:
        return [prefix]
    found: list[Pointer] = []
    for key, value in patch.items():
        found.extend(_leaves(value, (*prefix, key)))
    return found


def default_policy_for(policy_id: str, caller: Caller) -> dict[str, Any]:
    """The policy Ditto creates for a thing created without one: all rights to the creator."""
    everything = {"grant": ["READ", "WRITE"], "revoke": []}
    return {
        "policyId": policy_id,
        "entries": {
            "DEFAULT": {
                "subjects": {subject: {"type": "creator"} for subject in sorted(caller.subjects)},
                "resources": {
                    "thing:/": everything,
                    "policy:/": everything,
                    "message:/": everything,
                },
            }
        },
    }


class TwinService:
    """Things and policies, with Ditto's semantics, over one `TwinStore`."""

    def __init__(self, store: TwinStore, hub: ChangeHub, max_thing_bytes: int) -> None:
        self.store = store
        self.hub = hub
        self.max_thing_bytes = max_thing_bytes
        self.enforcers = EnforcerCache()

    # -- policies as seen by one caller -------------------------------------------------

    def enforcer(
        self,
        caller: Caller,
        policy: StoredPolicy | None,
        resource_type: str = "thing",
    ) -> Enforcer | None:
        """None for citytwin itself (no limits); an enforcer of nothing for a lost policy."""
        if caller.is_service:
            return None
        if policy is None:
            return _NOBODY
        version = f"{policy.revision}@{policy.modified}"
        return self.enforcers.get(
            policy.policy_id, version, policy.doc, caller.subjects, resource_type
        )

    def _thing_enforcer(
        self, source: Transaction | TwinStore, caller: Caller, stored: StoredThing
    ) -> Enforcer | None:
        if caller.is_service:
            return None
        enforcer = self.enforcer(caller, source.get_policy(stored.policy_id))
        if enforcer is not None and not enforcer.has_partial((), READ):
            raise thing_not_found(stored.thing_id)
        return enforcer

    def visible(self, caller: Caller, thing: dict[str, Any], policy_id: str) -> Any:
        """The part of ``thing`` the caller may read (`MISSING` when none)."""
        enforcer = self.enforcer(caller, self.store.get_policy(policy_id))
        return thing if enforcer is None else _readable_thing(enforcer, thing)

    # -- things: read ---------------------------------------------------------------------

    def retrieve(
        self,
        caller: Caller,
        thing_id: str,
        resource: Resource,
        fields: tuple[Pointer, ...] | None,
        conditions: Conditions,
    ) -> Reply:
        """GET a thing or one of its parts."""
        stored = self.store.get_thing(thing_id)
        if stored is None:
            raise thing_not_found(thing_id)
        enforcer = self._thing_enforcer(self.store, caller, stored)
        revision = revision_tag(stored.revision)
        if resource.kind == "thing":
            conditions.check(revision, revision, reading=True)
            if enforcer is None and fields is None:
                return Reply(stored.doc.encode(), revision)
            document = stored.with_meta()
            if enforcer is not None:
                document = _readable_thing(enforcer, document)
            return Reply(orjson.dumps(_project(document, fields)), revision)
        document = stored.parsed()
        if enforcer is not None:
            document = enforcer.readable(document)
        try:
            value = get_at(document, resource.pointer)
        except KeyError:
            raise resource_not_found(resource.kind, thing_id, resource.pointer) from None
        conditions.check(value_tag(value), revision, reading=True)
        if fields is not None and isinstance(value, dict):
            value = select_fields(value, fields)
        return Reply(orjson.dumps(value), value_tag(value))

    def retrieve_many(
        self, caller: Caller, thing_ids: list[str], fields: tuple[Pointer, ...] | None
    ) -> bytes:
        """GET /things?ids=…: the visible ones, in the order asked."""
        items: list[Any] = []
        for thing_id in thing_ids:
            stored = self.store.get_thing(thing_id)
            if stored is None:
                continue
            document = stored.with_meta()
            if not caller.is_service:
                document = self.visible(caller, document, stored.policy_id)
                if document is MISSING:
                    continue
            items.append(_project(document, fields))
        return orjson.dumps(items)

    # -- things: write --------------------------------------------------------------------

    def modify(
        self,
        caller: Caller,
        thing_id: str,
        resource: Resource,
        value: Any,
        conditions: Conditions,
        *,
        merge: bool,
        allow_policy_lockout: bool = False,
    ) -> Reply:
        """PUT (``merge=False``) or PATCH (merge patch, RFC 7396) a thing or a part of it."""
        with self.store.transaction() as tx:
            stored = tx.get_thing(thing_id)
            if resource.kind == "thing":
                reply, change = self._write_thing(
                    tx, caller, thing_id, stored, value, conditions, merge, allow_policy_lockout
                )
            else:
                if stored is None:
                    raise thing_not_found(thing_id)
                reply, change = self._write_part(
                    tx, caller, stored, resource, value, conditions, merge
                )
        self.hub.publish(change)
        return reply

    def _write_thing(
        self,
        tx: Transaction,
        caller: Caller,
        thing_id: str,
        stored: StoredThing | None,
        body: Any,
        conditions: Conditions,
        merge: bool,
        allow_policy_lockout: bool,
    ) -> tuple[Reply, Change]:
        if not isinstance(body, dict):
            raise DittoBadRequestError(
                f"the body must be a JSON object (a thing), not {_json_type(body)}",
                error="things:thing.invalid",
            )
        body = {key: value for key, value in body.items() if key not in READ_ONLY_FIELDS}
        inline_policy = body.pop("_policy", None)
        if "_copyPolicyFrom" in body:
            raise DittoBadRequestError(
                "'_copyPolicyFrom' is not supported by the embedded twin service; give"
                " 'policyId' or '_policy'",
                error="things:thing.invalid",
            )
        if body.get("thingId", thing_id) != thing_id:
            raise DittoBadRequestError(
                f"the thingId {body['thingId']!r} in the body differs from {thing_id!r} in the URL",
                error="things:id.notsettable",
            )
        if stored is None:
            conditions.check(None, None, reading=False)
            if merge:
                body = merge_patch({}, body)
            return self._create_thing(
                tx, caller, thing_id, body, inline_policy, allow_policy_lockout
            )
        enforcer = self._thing_enforcer(tx, caller, stored)
        revision = revision_tag(stored.revision)
        conditions.check(revision, revision, reading=False)
        if inline_policy is not None:
            raise DittoBadRequestError(
                "'_policy' can only be given when the thing is created",
                error="things:thing.invalid",
            )
        current = stored.parsed()
        if merge:
            leaves = _leaves(body, ())
            self._require_write(enforcer, thing_id, leaves)
            new = merge_patch(current, body)
            delta = body
        else:
            self._require_write(enforcer, thing_id, [()])
            new = dict(body)
            new.setdefault("policyId", stored.policy_id)
            delta = new
        new["thingId"] = thing_id
        if new.get("policyId") != stored.policy_id:
            self._require_policy(tx, new.get("policyId"), thing_id)
        updated = self._save(tx, new, stored)
        reply = Reply(None, revision_tag(updated.revision))
        return reply, _change(updated, delta, new)

    def _create_thing(
        self,
        tx: Transaction,
        caller: Caller,
        thing_id: str,
        body: dict[str, Any],
        inline_policy: Any,
        allow_policy_lockout: bool,
    ) -> tuple[Reply, Change]:
        body["thingId"] = thing_id
        policy_id = body.get("policyId")
        if inline_policy is not None:
            policy_id = policy_id if isinstance(policy_id, str) else thing_id
            check_policy_id(policy_id)
            if tx.get_policy(policy_id) is not None:
                raise DittoConflictError(
                    f"the policy {policy_id!r} given as '_policy' already exists",
                    error="policies:policy.conflict",
                )
            policy = self._validated_policy(policy_id, inline_policy)
            self._check_lockout(caller, policy, allow_policy_lockout)
            stored_policy = tx.put_policy(policy, None)
        else:
            # As in Ditto: no policyId means one named like the thing, and a policy that
            # does not exist yet is created with all rights for the creator.
            if policy_id is None:
                policy_id = thing_id
            elif not isinstance(policy_id, str):
                raise DittoBadRequestError(
                    f"the policyId of {thing_id!r} must be a string, not {_json_type(policy_id)}",
                    error="things:thing.invalid",
                )
            check_policy_id(policy_id)
            stored_policy = tx.get_policy(policy_id) or tx.put_policy(
                default_policy_for(policy_id, caller), None
            )
        body["policyId"] = policy_id
        enforcer = self.enforcer(caller, stored_policy)
        if enforcer is not None and not enforcer.has_unrestricted((), WRITE):
            raise DittoForbiddenError(
                f"the Thing with ID '{thing_id}' could not be created: the policy"
                f" '{policy_id}' does not let {caller.subject} write it",
                error="things:thing.notcreatable",
            )
        created = self._save(tx, body, None)
        document = created.with_meta()
        if enforcer is not None:
            document = _readable_thing(enforcer, document)
        reply = Reply(
            orjson.dumps(_project(document, None)),
            revision_tag(created.revision),
            created=True,
            location=f"/api/2/things/{thing_id}",
        )
        return reply, _change(created, body, body)

    def _write_part(
        self,
        tx: Transaction,
        caller: Caller,
        stored: StoredThing,
        resource: Resource,
        value: Any,
        conditions: Conditions,
        merge: bool,
    ) -> tuple[Reply, Change]:
        enforcer = self._thing_enforcer(tx, caller, stored)
        document = stored.parsed()
        pointer = resource.pointer
        if pointer[0] == "features" and len(pointer) > 2 and not has_at(document, pointer[:2]):
            raise resource_not_found("feature", stored.thing_id, pointer[:2])
        exists = has_at(document, pointer)
        current = get_at(document, pointer) if exists else None
        conditions.check(
            value_tag(current) if exists else None, revision_tag(stored.revision), reading=False
        )
        if merge:
            self._require_write(enforcer, stored.thing_id, _leaves(value, pointer))
            new_value = merge_patch(current, value)
        else:
            self._require_write(enforcer, stored.thing_id, [pointer])
            new_value = value
        if merge and value is None:
            # a merge patch of null deletes the resource it is sent to
            new = delete_at(document, pointer) if exists else document
        else:
            new = _set(document, pointer, new_value)
        if resource.kind == "policyId" and new_value != stored.policy_id:
            self._require_policy(tx, new_value, stored.thing_id)
        updated = self._save(tx, new, stored, where=format_pointer(pointer))
        created = not exists and not merge
        reply = Reply(
            orjson.dumps(new_value) if created else None,
            value_tag(new_value),
            created=created,
            location=f"/api/2/things/{stored.thing_id}{format_pointer(pointer)}",
        )
        return reply, _change(updated, nest(pointer, value), new)

    def delete(
        self, caller: Caller, thing_id: str, resource: Resource, conditions: Conditions
    ) -> None:
        """DELETE a thing (its policy stays) or a part of it."""
        with self.store.transaction() as tx:
            stored = tx.get_thing(thing_id)
            if stored is None:
                raise thing_not_found(thing_id)
            enforcer = self._thing_enforcer(tx, caller, stored)
            revision = revision_tag(stored.revision)
            document = stored.parsed()
            if resource.kind == "thing":
                conditions.check(revision, revision, reading=False)
                self._require_write(enforcer, thing_id, [()])
                tx.delete_thing(thing_id)
                change = Change(
                    thing_id,
                    stored.policy_id,
                    stored.revision + 1,
                    tx.now,
                    {},
                    stored.with_meta(),
                    deleted=True,
                )
            else:
                if resource.kind in ("policyId",):
                    raise DittoError(
                        "the policyId of a thing cannot be deleted; PUT another one instead",
                        status=405,
                        error="things:policyid.notdeletable",
                    )
                visible = document if enforcer is None else enforcer.readable(document)
                if not has_at(visible, resource.pointer):
                    raise resource_not_found(resource.kind, thing_id, resource.pointer)
                current = get_at(document, resource.pointer)
                conditions.check(value_tag(current), revision, reading=False)
                self._require_write(enforcer, thing_id, [resource.pointer])
                new = delete_at(document, resource.pointer)
                updated = self._save(tx, new, stored)
                change = _change(updated, nest(resource.pointer, None), new)
        self.hub.publish(change)

    # -- helpers --------------------------------------------------------------------------

    def _require_write(
        self, enforcer: Enforcer | None, thing_id: str, pointers: list[Pointer]
    ) -> None:
        if enforcer is None:
            return
        for pointer in pointers:
            if not enforcer.has_unrestricted(pointer, WRITE):
                raise DittoForbiddenError(
                    f"The Thing with ID '{thing_id}' could not be modified at"
                    f" '{format_pointer(pointer)}' as the requester had insufficient"
                    " permissions ('WRITE' is required).",
                    error="things:thing.notmodifiable",
                    description="Check if the ID of the Thing was correct and you have"
                    " sufficient permissions.",
                )

    def _require_policy(self, tx: Transaction, policy_id: Any, thing_id: str) -> StoredPolicy:
        if not isinstance(policy_id, str):
            raise DittoBadRequestError(
                f"the policyId of {thing_id!r} must be a string, not {_json_type(policy_id)}",
                error="things:thing.invalid",
            )
        check_policy_id(policy_id)
        policy = tx.get_policy(policy_id)
        if policy is None:
            raise DittoBadRequestError(
                f"the policy {policy_id!r} for the Thing with ID '{thing_id}' does not exist;"
                " create it first (PUT /api/2/policies/…), give '_policy', or leave"
                " 'policyId' out for a default policy",
                error="things:policy.notfound",
            )
        return policy

    def _save(
        self,
        tx: Transaction,
        thing: dict[str, Any],
        previous: StoredThing | None,
        *,
        where: str = "",
    ) -> StoredThing:
        try:
            Thing.model_validate(thing)
        except ValidationError as exc:
            raise DittoBadRequestError(
                f"the thing {thing.get('thingId')!r} would not be valid after this"
                f" {'change' if previous else 'creation'}"
                f"{f' at {where!r}' if where else ''}: {describe_validation_error(exc)}",
                error="things:thing.invalid",
                description="Attributes, properties and desiredProperties are objects;"
                " definition is 'namespace:name:version'; policyId is 'namespace:name'.",
            ) from exc
        stored = tx.put_thing(thing, previous)
        if len(stored.doc) > self.max_thing_bytes:
            raise DittoTooLargeError(
                f"the Thing with ID '{stored.thing_id}' would be {len(stored.doc)} bytes;"
                f" at most {self.max_thing_bytes} are allowed",
                error="things:thing.tooLarge",
            )
        return stored

    # -- policies -------------------------------------------------------------------------

    def _validated_policy(self, policy_id: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise DittoBadRequestError(
                f"the policy must be a JSON object, not {_json_type(body)}",
                error="policies:policy.invalid",
            )
        if body.get("policyId", policy_id) != policy_id:
            raise DittoBadRequestError(
                f"the policyId {body['policyId']!r} in the body differs from {policy_id!r}",
                error="policies:id.notsettable",
            )
        clean = {key: value for key, value in body.items() if key not in READ_ONLY_FIELDS}
        try:
            policy = Policy.model_validate({**clean, "policyId": policy_id})
        except ValidationError as exc:
            raise DittoBadRequestError(
                f"the policy {policy_id!r} is not valid: {describe_validation_error(exc)}",
                error="policies:policy.invalid",
                description='A policy is {"entries": {label: {"subjects": {…},'
                ' "resources": {"thing:/": {"grant": ["READ"], "revoke": []}}}}}.',
            ) from exc
        return policy.model_dump(mode="json", by_alias=True, exclude_none=True)

    def _check_lockout(self, caller: Caller, policy: dict[str, Any], allowed: bool) -> None:
        if caller.is_service or allowed:
            return
        if not Enforcer.build(policy, caller.subjects, "policy").has_unrestricted((), WRITE):
            raise DittoForbiddenError(
                f"the policy {policy['policyId']!r} would not let {caller.subject} change it"
                " ('WRITE' on 'policy:/'); add it, or set allow-policy-lockout=true",
                error="policies:policy.notmodifiable",
            )

    def retrieve_policy(self, caller: Caller, policy_id: str, conditions: Conditions) -> Reply:
        """GET a policy."""
        policy = self.store.get_policy(policy_id)
        enforcer = self.enforcer(caller, policy, "policy")
        if policy is None or (enforcer is not None and not enforcer.has((), READ)):
            raise policy_not_found(policy_id)
        tag = revision_tag(policy.revision)
        conditions.check(tag, tag, reading=True)
        return Reply(orjson.dumps(policy.doc), tag)

    def put_policy(
        self,
        caller: Caller,
        policy_id: str,
        body: Any,
        conditions: Conditions,
        *,
        allow_policy_lockout: bool,
    ) -> Reply:
        """PUT a policy (create 201 or replace 204)."""
        policy = self._validated_policy(policy_id, body)
        with self.store.transaction() as tx:
            stored = tx.get_policy(policy_id)
            if stored is None:
                conditions.check(None, None, reading=False)
                self._check_lockout(caller, policy, allow_policy_lockout)
                created = tx.put_policy(policy, None)
                return Reply(
                    orjson.dumps(policy),
                    revision_tag(created.revision),
                    created=True,
                    location=f"/api/2/policies/{policy_id}",
                )
            self._require_policy_write(caller, stored)
            tag = revision_tag(stored.revision)
            conditions.check(tag, tag, reading=False)
            self._check_lockout(caller, policy, allow_policy_lockout)
            updated = tx.put_policy(policy, stored)
            return Reply(None, revision_tag(updated.revision))

    def delete_policy(self, caller: Caller, policy_id: str, conditions: Conditions) -> None:
        """DELETE a policy (things using it become invisible to all but citytwin)."""
        with self.store.transaction() as tx:
            stored = tx.get_policy(policy_id)
            if stored is None:
                raise policy_not_found(policy_id)
            self._require_policy_write(caller, stored)
            tag = revision_tag(stored.revision)
            conditions.check(tag, tag, reading=False)
            tx.delete_policy(policy_id)

    def _require_policy_write(self, caller: Caller, stored: StoredPolicy) -> None:
        enforcer = self.enforcer(caller, stored, "policy")
        if enforcer is None:
            return
        if not enforcer.has_partial((), READ) and not enforcer.has_partial((), WRITE):
            raise policy_not_found(stored.policy_id)
        if not enforcer.has_unrestricted((), WRITE):
            raise DittoForbiddenError(
                f"The Policy with ID '{stored.policy_id}' could not be modified as the"
                " requester had insufficient permissions ('WRITE' on 'policy:/').",
                error="policies:policy.notmodifiable",
            )

    # -- search ---------------------------------------------------------------------------

    def searchable_policy_ids(
        self, caller: Caller, tested: tuple[Pointer, ...]
    ) -> tuple[str, ...] | None:
        """The policies under which the caller may search things on the ``tested`` fields.

        A thing counts only where the caller may read every field the filter and sort
        test: otherwise ``count?filter=eq(attributes/secret,"…")`` would reveal a hidden
        value one guess at a time. (Ditto treats a hidden field as absent, so ``not(…)``
        over one can match there and not here: stricter, never leakier.) None: all
        policies, for citytwin itself.
        """
        if caller.is_service:
            return None
        guarded = [path for path in tested if path and path[0] not in ALWAYS_VISIBLE]
        ids = []
        for policy in self.store.policies_granting():
            enforcer = self.enforcer(caller, policy)
            if enforcer is None or not enforcer.has_partial((), READ):
                continue
            if all(enforcer.has_unrestricted(path, READ) for path in guarded):
                ids.append(policy.policy_id)
        return tuple(ids)

    def search(
        self,
        caller: Caller,
        filter_node: Node | None,
        filter_text: str,
        namespaces: tuple[str, ...],
        options: SearchOptions,
        fields: tuple[Pointer, ...] | None,
    ) -> bytes:
        """One page of search results, ``{"items": […], "cursor": …}`` (runs in a thread)."""
        size = options.size or DEFAULT_PAGE_SIZE
        if size > MAX_PAGE_SIZE:
            raise DittoBadRequestError(
                f"size({size}) is over the largest page of {MAX_PAGE_SIZE}",
                error="thing-search:option.invalid",
            )
        fingerprint = _fingerprint(filter_text, namespaces, options)
        offset = options.offset or 0
        if options.cursor is not None:
            offset = _read_cursor(options.cursor, fingerprint)
        tested = referenced_fields(filter_node) + tuple(path for path, _ in options.sort)
        query = SearchQuery(
            filter=filter_node,
            namespaces=namespaces,
            policy_ids=self.searchable_policy_ids(caller, tested),
            sort=options.sort,
            limit=size + 1,
            offset=offset,
        )
        rows = self.store.search(query)
        items = []
        for row in rows[:size]:
            document = row.with_meta()
            if not caller.is_service:
                document = self.visible(caller, document, row.policy_id)
                if document is MISSING:
                    continue
            items.append(_project(document, fields))
        result: dict[str, Any] = {"items": items}
        if len(rows) > size and options.offset is None:
            result["cursor"] = _make_cursor(offset + size, fingerprint)
        return orjson.dumps(result)

    def count(self, caller: Caller, filter_node: Node | None, namespaces: tuple[str, ...]) -> int:
        """How many visible things match (runs in a thread)."""
        query = SearchQuery(
            filter=filter_node,
            namespaces=namespaces,
            policy_ids=self.searchable_policy_ids(caller, referenced_fields(filter_node)),
        )
        return self.store.count(query)


def _readable_thing(enforcer: Enforcer, document: dict[str, Any]) -> Any:
    """The caller's view of a whole thing: what the policy lets it read, and its id."""
    view = enforcer.readable(document)
    if view is MISSING:
        return MISSING
    return {key: document[key] for key in ALWAYS_VISIBLE if key in document} | view


def _project(document: dict[str, Any], fields: tuple[Pointer, ...] | None) -> dict[str, Any]:
    if fields is None:
        return {key: value for key, value in document.items() if key not in META_FIELDS}
    return select_fields(document, fields)


def _set(document: dict[str, Any], pointer: Pointer, value: Any) -> dict[str, Any]:
    copy = dict(document)
    target = copy
    for key in pointer[:-1]:
        child = target.get(key)
        child = dict(child) if isinstance(child, dict) else {}
        target[key] = child
        target = child
    target[pointer[-1]] = value
    return copy


def _change(stored: StoredThing, delta: dict[str, Any], thing: dict[str, Any]) -> Change:
    full = dict(thing)
    full["_namespace"] = stored.namespace
    full["_revision"] = stored.revision
    full["_created"] = stored.created
    full["_modified"] = stored.modified
    return Change(stored.thing_id, stored.policy_id, stored.revision, stored.modified, delta, full)


def _json_type(value: Any) -> str:
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


def _fingerprint(filter_text: str, namespaces: tuple[str, ...], options: SearchOptions) -> str:
    source = orjson.dumps([filter_text, namespaces, [list(s) for s in options.sort]])
    return hashlib.blake2b(source, digest_size=6).hexdigest()


def _make_cursor(offset: int, fingerprint: str) -> str:
    raw = f"{fingerprint}:{offset}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_cursor(cursor: str, fingerprint: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, _, offset = raw.partition(":")
        value = int(offset)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DittoBadRequestError(
            f"cursor({cursor}) is not a cursor this service gave out",
            error="thing-search:option.invalid",
        ) from exc
    if stamp != fingerprint or not 0 <= value < MAX_CURSOR_OFFSET:
        raise DittoBadRequestError(
            f"cursor({cursor}) belongs to another search; repeat the same filter, namespaces"
            " and sort with it",
            error="thing-search:option.invalid",
        )
    return value
