"""What the twin API does to things, independent of HTTP.

`TwinService` reads and writes through `TwinStore` transactions (one per request): it
checks the caller against the thing's policy (`Access`), then the request's
preconditions (`Conditions`), validates the resulting thing as a whole (so a write into
``attributes/…`` cannot leave a thing Ditto would refuse) and publishes each committed
change to the `ChangeHub`. Policies as resources are `PolicyService`'s, searches
`ThingSearch`'s.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from pydantic import ValidationError

from twins.errors import (
    DittoBadRequestError,
    DittoConflictError,
    DittoError,
    DittoForbiddenError,
    DittoTooLargeError,
)
from twins.models import READ_ONLY_FIELDS, Thing, describe_validation_error
from twins.pointer import (
    Pointer,
    delete_at,
    format_pointer,
    get_at,
    has_at,
    merge_patch,
    nest,
)
from twins.service.access import Access
from twins.service.auth import Caller
from twins.service.conditions import (
    Conditions,
    IfEqual,
    minimized_patch,
    revision_tag,
    value_tag,
)
from twins.service.errors import resource_not_found, thing_not_found
from twins.service.patches import change_of, patch_leaves, set_at
from twins.service.policies import MISSING, READ, WRITE, Enforcer
from twins.service.policy_service import check_lockout, default_policy_for, validated_policy
from twins.service.replies import Reply
from twins.service.resources import Resource, check_policy_id, json_type
from twins.service.sse import Change, ChangeHub
from twins.service.store import StoredPolicy, StoredThing, Transaction, TwinStore
from twins.service.views import project, readable_thing

logger = logging.getLogger(__name__)


class TwinService:
    """Things, with Ditto's semantics, over one `TwinStore`."""

    def __init__(
        self, store: TwinStore, hub: ChangeHub, max_thing_bytes: int, access: Access
    ) -> None:
        self.store = store
        self.hub = hub
        self.max_thing_bytes = max_thing_bytes
        self.access = access

    def visible(self, caller: Caller, thing: dict[str, Any], policy_id: str) -> Any:
        """The part of ``thing`` the caller may read (`MISSING` when none)."""
        enforcer = self.access.enforcer(caller, self.store.get_policy(policy_id))
        return readable_thing(enforcer, thing)

    # -- read -----------------------------------------------------------------------------

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
        enforcer = self.access.reader(self.store, caller, stored)
        revision = revision_tag(stored.revision)
        whole = enforcer.has_unrestricted((), READ)
        if conditions.condition is not None:
            conditions.check_condition(thing_id, _view(enforcer, stored, whole))
        if resource.kind == "thing":
            conditions.check(revision, revision, reading=True)
            if whole and fields is None:
                return Reply(stored.doc.encode(), revision)
            document = _view(enforcer, stored, whole)
            return Reply(orjson.dumps(project(document, fields)), revision)
        document = stored.parsed()
        if not whole:
            document = enforcer.readable(document)
        try:
            value = get_at(document, resource.pointer)
        except (KeyError, TypeError):
            raise resource_not_found(resource.kind, thing_id, resource.pointer) from None
        conditions.check(value_tag(value), revision, reading=True)
        if fields is not None and isinstance(value, dict):
            value = project(value, fields)
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
            document = self.visible(caller, stored.with_meta(), stored.policy_id)
            if document is MISSING:
                continue
            items.append(project(document, fields))
        return orjson.dumps(items)

    # -- write ----------------------------------------------------------------------------

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
                f"the body must be a JSON object (a thing), not {json_type(body)}",
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
            self.access.require_creation(caller, "Thing", thing_id)
            conditions.check(None, None, reading=False)
            conditions.check_condition(thing_id, {})
            if merge:
                body = merge_patch({}, body)
            return self._create_thing(
                tx, caller, thing_id, body, inline_policy, allow_policy_lockout
            )
        enforcer = self.access.writer(tx, caller, stored)
        current = stored.parsed()
        if merge:
            self.access.require_write(enforcer, thing_id, patch_leaves(body, ()))
        else:
            self.access.require_write(enforcer, thing_id, [()])
        revision = revision_tag(stored.revision)
        conditions.check(revision, revision, reading=False)
        _check_condition(conditions, thing_id, enforcer, stored)
        if inline_policy is not None:
            raise DittoBadRequestError(
                "'_policy' can only be given when the thing is created",
                error="things:thing.invalid",
            )
        if merge:
            delta = body
            if conditions.if_equal is IfEqual.SKIP_MINIMIZING_MERGE:
                delta = minimized_patch(current, body)
            new = merge_patch(current, delta)
        else:
            new = dict(body)
            new.setdefault("policyId", stored.policy_id)
            delta = new
        new["thingId"] = thing_id
        conditions.check_changes(thing_id, current, new)
        if new.get("policyId") != stored.policy_id:
            self._require_policy(tx, new.get("policyId"), thing_id)
        updated = self._save(tx, new, stored)
        reply = Reply(None, revision_tag(updated.revision))
        return reply, change_of(updated, delta, new)

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
            self.access.require_creation(caller, "Policy", policy_id)
            policy = validated_policy(policy_id, inline_policy)
            check_lockout(caller, policy, allow_policy_lockout)
            stored_policy = tx.put_policy(policy, None)
        else:
            # As in Ditto: no policyId means one named like the thing, and a policy that
            # does not exist yet is created with all rights for the creator.
            if policy_id is None:
                policy_id = thing_id
            elif not isinstance(policy_id, str):
                raise DittoBadRequestError(
                    f"the policyId of {thing_id!r} must be a string, not {json_type(policy_id)}",
                    error="things:thing.invalid",
                )
            check_policy_id(policy_id)
            existing = tx.get_policy(policy_id)
            if existing is None:
                self.access.require_creation(caller, "Policy", policy_id)
                existing = tx.put_policy(default_policy_for(policy_id, caller), None)
            stored_policy = existing
        body["policyId"] = policy_id
        enforcer = self.access.enforcer(caller, stored_policy)
        if not enforcer.has_unrestricted((), WRITE):
            raise DittoForbiddenError(
                f"the Thing with ID '{thing_id}' could not be created: the policy"
                f" '{policy_id}' does not let {caller.subject} write it",
                error="things:thing.notcreatable",
            )
        created = self._save(tx, body, None)
        document = readable_thing(enforcer, created.with_meta())
        if document is MISSING:
            # a caller that may write but not read is told only what it named
            document = {"thingId": thing_id}
        reply = Reply(
            orjson.dumps(project(document, None)),
            revision_tag(created.revision),
            created=True,
            location=f"/api/2/things/{thing_id}",
        )
        return reply, change_of(created, body, body)

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
        enforcer = self.access.writer(tx, caller, stored)
        pointer = resource.pointer
        if merge:
            self.access.require_write(enforcer, stored.thing_id, patch_leaves(value, pointer))
        else:
            self.access.require_write(enforcer, stored.thing_id, [pointer])
        document = stored.parsed()
        if pointer[0] == "features" and len(pointer) > 2 and not has_at(document, pointer[:2]):
            raise resource_not_found("feature", stored.thing_id, pointer[:2])
        exists = has_at(document, pointer)
        current = get_at(document, pointer) if exists else None
        conditions.check(
            value_tag(current) if exists else None, revision_tag(stored.revision), reading=False
        )
        _check_condition(conditions, stored.thing_id, enforcer, stored)
        patch = value
        if merge and conditions.if_equal is IfEqual.SKIP_MINIMIZING_MERGE:
            patch = minimized_patch(current, value)
        new_value = merge_patch(current, patch) if merge else value
        if merge and value is None:
            # a merge patch of null deletes the resource it is sent to
            new = delete_at(document, pointer) if exists else document
        else:
            new = set_at(document, pointer, new_value)
        conditions.check_changes(stored.thing_id, document, new)
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
        return reply, change_of(updated, nest(pointer, patch), new)

    def delete(
        self, caller: Caller, thing_id: str, resource: Resource, conditions: Conditions
    ) -> None:
        """DELETE a thing (its policy stays) or a part of it."""
        with self.store.transaction() as tx:
            stored = tx.get_thing(thing_id)
            if stored is None:
                raise thing_not_found(thing_id)
            enforcer = self.access.writer(tx, caller, stored)
            revision = revision_tag(stored.revision)
            document = stored.parsed()
            if resource.kind == "thing":
                self.access.require_write(enforcer, thing_id, [()])
                conditions.check(revision, revision, reading=False)
                _check_condition(conditions, thing_id, enforcer, stored)
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
                if resource.kind == "policyId":
                    raise DittoError(
                        "the policyId of a thing cannot be deleted; PUT another one instead",
                        status=405,
                        error="things:policyid.notdeletable",
                    )
                self.access.require_write(enforcer, thing_id, [resource.pointer])
                if not has_at(document, resource.pointer):
                    raise resource_not_found(resource.kind, thing_id, resource.pointer)
                current = get_at(document, resource.pointer)
                conditions.check(value_tag(current), revision, reading=False)
                _check_condition(conditions, thing_id, enforcer, stored)
                new = delete_at(document, resource.pointer)
                updated = self._save(tx, new, stored)
                change = change_of(updated, nest(resource.pointer, None), new)
        self.hub.publish(change)

    # -- helpers --------------------------------------------------------------------------

    def _require_policy(self, tx: Transaction, policy_id: Any, thing_id: str) -> StoredPolicy:
        if not isinstance(policy_id, str):
            raise DittoBadRequestError(
                f"the policyId of {thing_id!r} must be a string, not {json_type(policy_id)}",
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


def _check_condition(
    conditions: Conditions, thing_id: str, enforcer: Enforcer, stored: StoredThing
) -> None:
    """``condition=`` against the caller's view, built only when there is a condition."""
    if conditions.condition is not None:
        conditions.check_condition(thing_id, _view(enforcer, stored))


def _view(enforcer: Enforcer, stored: StoredThing, whole: bool | None = None) -> Any:
    """The caller's view of ``stored`` with its ``_`` fields (conditions test it)."""
    document = stored.with_meta()
    if whole is None:
        whole = enforcer.has_unrestricted((), READ)
    return document if whole else readable_thing(enforcer, document)
