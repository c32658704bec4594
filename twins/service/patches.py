"""Applying a write to a thing: the paths it touches, the copy it makes, the change.

Writes never change a stored document in place: `set_at` copies along the path, so the
document the request read (and a change already published) stays as it was.
"""

from __future__ import annotations

from typing import Any

from twins.pointer import Pointer
from twins.service.sse import Change
from twins.service.store import StoredThing


def patch_leaves(patch: Any, prefix: Pointer) -> list[Pointer]:
    """Every path a merge patch writes (WRITE must hold on each)."""
    if not isinstance(patch, dict) or not patch:
        return [prefix]
    found: list[Pointer] = []
    for key, value in patch.items():
        found.extend(patch_leaves(value, (*prefix, key)))
    return found


def set_at(document: dict[str, Any], pointer: Pointer, value: Any) -> dict[str, Any]:
    """A copy of ``document`` with ``value`` at ``pointer`` (objects made on the way)."""
    copy = dict(document)
    target = copy
    for key in pointer[:-1]:
        child = target.get(key)
        child = dict(child) if isinstance(child, dict) else {}
        target[key] = child
        target = child
    target[pointer[-1]] = value
    return copy


def change_of(stored: StoredThing, delta: dict[str, Any], thing: dict[str, Any]) -> Change:
    """The change to publish: ``delta`` of ``thing``, now stored as ``stored``."""
    full = dict(thing)
    full["_namespace"] = stored.namespace
    full["_revision"] = stored.revision
    full["_created"] = stored.created
    full["_modified"] = stored.modified
    return Change(stored.thing_id, stored.policy_id, stored.revision, stored.modified, delta, full)
