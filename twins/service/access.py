"""Who may do what: policies decide per thing, roles gate creation where provisioning owns.

Ditto has no super-user, and neither has citytwin: every caller — citytwin's own account
too — is checked against the policy of the thing or policy it touches. On top of that,
a *provisioned namespace* (a site of the device registry) belongs to provisioning: only a
caller with the ``admin`` role may create things or policies there, as Ditto's
``entity-creation`` configuration restricts who creates what in which namespace.
Everywhere else anyone authenticated may create, and gets a policy of their own.

    404 when nothing of a thing is readable (Ditto does not reveal that it exists),
    403 when it is readable but the write is not allowed, or the role may not create.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from twins.errors import DittoForbiddenError
from twins.pointer import Pointer, format_pointer
from twins.service.auth import Caller
from twins.service.errors import thing_not_found
from twins.service.policies import READ, WRITE, Enforcer, EnforcerCache
from twins.service.resources import namespace_of
from twins.service.store import StoredPolicy, StoredThing, Transaction, TwinStore
from twins.settings import TwinRole

ProvisionedNamespaces = Callable[[], Collection[str]]
"""The namespaces provisioning owns right now (the registry's sites)."""

_NOBODY = Enforcer.build({}, frozenset(), "thing")


def no_namespaces() -> Collection[str]:
    """No namespace is provisioned (a twin service without a registry)."""
    return ()


class Access:
    """Enforcers per caller and policy revision, and the creation rule of roles."""

    def __init__(self, provisioned: ProvisionedNamespaces = no_namespaces) -> None:
        self.enforcers = EnforcerCache()
        self._provisioned = provisioned

    def enforcer(
        self, caller: Caller, policy: StoredPolicy | None, resource_type: str = "thing"
    ) -> Enforcer:
        """What ``caller`` may do under ``policy``; nothing at all under a lost policy."""
        if policy is None:
            return _NOBODY
        version = f"{policy.revision}@{policy.modified}"
        return self.enforcers.get(
            policy.policy_id, version, policy.doc, caller.subjects, resource_type
        )

    def reader(
        self, source: Transaction | TwinStore, caller: Caller, stored: StoredThing
    ) -> Enforcer:
        """The caller's enforcer on a thing it reads; 404 when it may read none of it."""
        enforcer = self.enforcer(caller, source.get_policy(stored.policy_id))
        if not enforcer.has_partial((), READ):
            raise thing_not_found(stored.thing_id)
        return enforcer

    def writer(
        self, source: Transaction | TwinStore, caller: Caller, stored: StoredThing
    ) -> Enforcer:
        """The caller's enforcer on a thing it writes (checked per path by `require_write`)."""
        return self.enforcer(caller, source.get_policy(stored.policy_id))

    def require_write(self, enforcer: Enforcer, thing_id: str, pointers: list[Pointer]) -> None:
        """403 unless WRITE holds on every pointer; 404 when the caller may read nothing."""
        for pointer in pointers:
            if enforcer.has_unrestricted(pointer, WRITE):
                continue
            if not enforcer.has_partial((), READ):
                raise thing_not_found(thing_id)
            raise DittoForbiddenError(
                f"The Thing with ID '{thing_id}' could not be modified at"
                f" '{format_pointer(pointer)}' as the requester had insufficient"
                " permissions ('WRITE' is required).",
                error="things:thing.notmodifiable",
                description="Check if the ID of the Thing was correct and you have"
                " sufficient permissions.",
            )

    def require_creation(self, caller: Caller, entity: str, entity_id: str) -> None:
        """403 when ``caller`` may not create ``entity`` (``Thing``/``Policy``) there."""
        namespace = namespace_of(entity_id)
        if caller.role is TwinRole.ADMIN or namespace not in self._provisioned():
            return
        code = "things:thing.notcreatable" if entity == "Thing" else "policies:policy.notcreatable"
        raise DittoForbiddenError(
            f"The {entity} with ID '{entity_id}' could not be created: the namespace"
            f" '{namespace}' belongs to provisioning, and {caller.subject} has the role"
            f" '{caller.role}', not 'admin'.",
            error=code,
            description="Device twins are created by provisioning (citytwin provision);"
            " an admin may create other things there.",
        )
