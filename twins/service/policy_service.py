"""Policies as resources: ``GET|PUT|DELETE /api/2/policies/{policyId}``.

A policy is validated whole (`twins.models.Policy`); a write needs WRITE on ``policy:/``
under the policy as it is, and — unless ``allow-policy-lockout`` — the new policy must
leave the writer that WRITE ("lockout" protection, as Ditto). Creating a policy in a
provisioned namespace needs the ``admin`` role (`Access.require_creation`).
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import ValidationError

from twins.errors import DittoBadRequestError, DittoForbiddenError
from twins.models import READ_ONLY_FIELDS, Policy, describe_validation_error
from twins.service.access import Access
from twins.service.auth import Caller
from twins.service.conditions import Conditions, revision_tag
from twins.service.errors import policy_not_found
from twins.service.policies import READ, WRITE, Enforcer
from twins.service.replies import Reply
from twins.service.resources import json_type
from twins.service.store import StoredPolicy, TwinStore


def validated_policy(policy_id: str, body: Any) -> dict[str, Any]:
    """``body`` as the policy ``policy_id`` (its JSON), or a 400 saying what is wrong."""
    if not isinstance(body, dict):
        raise DittoBadRequestError(
            f"the policy must be a JSON object, not {json_type(body)}",
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


def check_lockout(caller: Caller, policy: dict[str, Any], allowed: bool) -> None:
    """403 when ``policy`` would not let ``caller`` change it and lockout was not allowed."""
    if allowed:
        return
    if not Enforcer.build(policy, caller.subjects, "policy").has_unrestricted((), WRITE):
        raise DittoForbiddenError(
            f"the policy {policy['policyId']!r} would not let {caller.subject} change it"
            " ('WRITE' on 'policy:/'); add it, or set allow-policy-lockout=true",
            error="policies:policy.notmodifiable",
        )


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


class PolicyService:
    """Reads and writes policies through `TwinStore` transactions."""

    def __init__(self, store: TwinStore, access: Access) -> None:
        self.store = store
        self.access = access

    def retrieve(self, caller: Caller, policy_id: str, conditions: Conditions) -> Reply:
        """GET a policy."""
        policy = self.store.get_policy(policy_id)
        if policy is None or not self.access.enforcer(caller, policy, "policy").has((), READ):
            raise policy_not_found(policy_id)
        tag = revision_tag(policy.revision)
        conditions.check(tag, tag, reading=True)
        return Reply(orjson.dumps(policy.doc), tag)

    def put(
        self,
        caller: Caller,
        policy_id: str,
        body: Any,
        conditions: Conditions,
        *,
        allow_policy_lockout: bool,
    ) -> Reply:
        """PUT a policy (create 201 or replace 204)."""
        policy = validated_policy(policy_id, body)
        with self.store.transaction() as tx:
            stored = tx.get_policy(policy_id)
            if stored is None:
                self.access.require_creation(caller, "Policy", policy_id)
                conditions.check(None, None, reading=False)
                check_lockout(caller, policy, allow_policy_lockout)
                created = tx.put_policy(policy, None)
                return Reply(
                    orjson.dumps(policy),
                    revision_tag(created.revision),
                    created=True,
                    location=f"/api/2/policies/{policy_id}",
                )
            self._require_write(caller, stored)
            tag = revision_tag(stored.revision)
            conditions.check(tag, tag, reading=False)
            check_lockout(caller, policy, allow_policy_lockout)
            conditions.check_changes(policy_id, stored.doc, policy)
            updated = tx.put_policy(policy, stored)
            return Reply(None, revision_tag(updated.revision))

    def delete(self, caller: Caller, policy_id: str, conditions: Conditions) -> None:
        """DELETE a policy (things using it become invisible to everyone)."""
        with self.store.transaction() as tx:
            stored = tx.get_policy(policy_id)
            if stored is None:
                raise policy_not_found(policy_id)
            self._require_write(caller, stored)
            tag = revision_tag(stored.revision)
            conditions.check(tag, tag, reading=False)
            tx.delete_policy(policy_id)

    def _require_write(self, caller: Caller, stored: StoredPolicy) -> None:
        enforcer = self.access.enforcer(caller, stored, "policy")
        if not enforcer.has_partial((), READ) and not enforcer.has_partial((), WRITE):
            raise policy_not_found(stored.policy_id)
        if not enforcer.has_unrestricted((), WRITE):
            raise DittoForbiddenError(
                f"The Policy with ID '{stored.policy_id}' could not be modified as the"
                " requester had insufficient permissions ('WRITE' on 'policy:/').",
                error="policies:policy.notmodifiable",
            )
