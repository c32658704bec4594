"""Policy enforcement, with Ditto's rules for grants and revokes on resource trees.

A policy grants or revokes READ/WRITE on resources such as ``thing:/``,
``thing:/features/queue`` or ``policy:/`` to subjects (``nginx:alice``). For one caller,
the entries naming any of the caller's subjects are folded into one tree per resource
type. A permission holds at a path when the nearest entry on the way down from the root
decides so (a more specific resource overrides a general one; at the same resource a
revoke beats a grant). WRITE on a sub-tree needs the permission there and no revoke
below ("unrestricted", as Ditto says). READ is partial: a thing whose policy grants the
caller READ on one feature only is visible with that feature only.

    404 when nothing of a thing is readable (Ditto does not reveal that it exists),
    403 when it is readable but the write is not allowed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Final

from twins.models import Permission
from twins.pointer import Pointer, parse_pointer

READ: Final = Permission.READ
WRITE: Final = Permission.WRITE
_CACHE_SIZE = 4096


@dataclass(slots=True)
class _Node:
    grant: set[str] = field(default_factory=set)
    revoke: set[str] = field(default_factory=set)
    children: dict[str, _Node] = field(default_factory=dict)

    def decided(self, permission: str) -> bool | None:
        if permission in self.revoke:
            return False
        if permission in self.grant:
            return True
        return None


class Enforcer:
    """What one caller may do under one policy, for one resource type (``thing``, …)."""

    def __init__(self, root: _Node) -> None:
        self._root = root

    @classmethod
    def build(
        cls, policy: dict[str, Any], subjects: frozenset[str], resource_type: str
    ) -> Enforcer:
        """Fold the entries that name any of ``subjects`` into one tree."""
        root = _Node()
        prefix = f"{resource_type}:"
        for entry in policy.get("entries", {}).values():
            if subjects.isdisjoint(entry.get("subjects", {})):
                continue
            for resource, grant in entry.get("resources", {}).items():
                if not resource.startswith(prefix):
                    continue
                node = root
                for key in parse_pointer(resource[len(prefix) :], where="resource"):
                    node = node.children.setdefault(key, _Node())
                node.grant.update(grant.get("grant") or ())
                node.revoke.update(grant.get("revoke") or ())
        return cls(root)

    def _state(self, path: Pointer, permission: str) -> tuple[bool, _Node | None]:
        node: _Node | None = self._root
        state = False
        for key in (None, *path):
            if node is None:
                break
            if key is not None:
                node = node.children.get(key)
                if node is None:
                    break
            decided = node.decided(permission)
            if decided is not None:
                state = decided
        return state, node

    def has(self, path: Pointer, permission: str) -> bool:
        """The permission holds at ``path`` itself."""
        return self._state(path, permission)[0]

    def has_unrestricted(self, path: Pointer, permission: str) -> bool:
        """Held at ``path`` and not revoked anywhere below it."""
        state, node = self._state(path, permission)
        return state and (node is None or not _revoked_below(node, permission))

    def has_partial(self, path: Pointer, permission: str) -> bool:
        """Held at ``path`` or granted somewhere below it."""
        state, node = self._state(path, permission)
        return state or (node is not None and _granted_below(node, permission))

    def readable(self, value: Any, path: Pointer = ()) -> Any:
        """The part of ``value`` (found at ``path``) the caller may read; `MISSING` if none."""
        state, node = self._state(path, READ)
        return _prune(value, state, node)


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


def _revoked_below(node: _Node, permission: str) -> bool:
    return any(
        permission in child.revoke or _revoked_below(child, permission)
        for child in node.children.values()
    )


def _granted_below(node: _Node, permission: str) -> bool:
    return any(
        (permission in child.grant and permission not in child.revoke)
        or _granted_below(child, permission)
        for child in node.children.values()
    )


def _prune(value: Any, state: bool, node: _Node | None) -> Any:
    if node is None or not node.children:
        return value if state else MISSING
    if not isinstance(value, dict):
        return value if state else MISSING
    result: dict[str, Any] = {}
    for key, child_value in value.items():
        child = node.children.get(key)
        child_state = state
        if child is not None:
            decided = child.decided(READ)
            if decided is not None:
                child_state = decided
        pruned = _prune(child_value, child_state, child)
        if pruned is not MISSING:
            result[key] = pruned
    if not result and not state:
        return MISSING
    return result


class EnforcerCache:
    """Built enforcers by (policy id, version, subjects, resource type), least recent out.

    ``version`` must change whenever the policy does (revision and modification time,
    so a policy deleted and created again is not mistaken for the old one).
    """

    def __init__(self, size: int = _CACHE_SIZE) -> None:
        self._size = size
        self._items: OrderedDict[tuple[str, str, frozenset[str], str], Enforcer] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self,
        policy_id: str,
        version: str,
        policy: dict[str, Any],
        subjects: frozenset[str],
        resource_type: str = "thing",
    ) -> Enforcer:
        """The enforcer for this caller under this revision of the policy."""
        key = (policy_id, version, subjects, resource_type)
        with self._lock:  # searches run in worker threads, point requests on the loop
            enforcer = self._items.get(key)
            if enforcer is not None:
                self._items.move_to_end(key)
                return enforcer
        enforcer = Enforcer.build(policy, subjects, resource_type)
        with self._lock:
            self._items[key] = enforcer
            if len(self._items) > self._size:
                self._items.popitem(last=False)
        return enforcer
