"""What of a thing a caller is shown: the policy's readable part, then ``fields``.

A thing is shown with the parts its policy lets the caller read, plus ``thingId`` (the
caller named or found it anyway); nothing at all is `MISSING`, which the API answers
with 404 as Ditto does. The ``_`` fields (``_revision``, ``_modified``, …) appear only when
``fields`` asks for them.
"""

from __future__ import annotations

from typing import Any

from twins.pointer import Pointer
from twins.service.fields import select_fields
from twins.service.policies import MISSING, Enforcer

META_FIELDS = ("_namespace", "_revision", "_created", "_modified")
ALWAYS_VISIBLE = ("thingId", "_namespace")
"""Shown to whoever may read any part of a thing: it was named or found by them anyway."""


def readable_thing(enforcer: Enforcer, document: dict[str, Any]) -> Any:
    """The caller's view of a whole thing: what the policy lets it read, and its id."""
    view = enforcer.readable(document)
    if view is MISSING:
        return MISSING
    return {key: document[key] for key in ALWAYS_VISIBLE if key in document} | view


def project(document: dict[str, Any], fields: tuple[Pointer, ...] | None) -> dict[str, Any]:
    """``document`` narrowed to ``fields``; without them, everything but the ``_`` fields."""
    if fields is None:
        return {key: value for key, value in document.items() if key not in META_FIELDS}
    return select_fields(document, fields)


def readable_change(enforcer: Enforcer, delta: dict[str, Any]) -> dict[str, Any] | None:
    """The part of a change the caller may read; None when it may read none of it.

    Pruning alone would leave ``{"attributes": {}}`` of a change to a revoked attribute:
    an object the change filled and the policy emptied counts as nothing.
    """
    view = enforcer.readable(delta)
    if view is MISSING:
        return None
    kept = _drop_emptied(delta, view)
    return kept if isinstance(kept, dict) and kept else None


def _drop_emptied(original: Any, view: Any) -> Any:
    if not isinstance(view, dict) or not isinstance(original, dict):
        return view
    kept: dict[str, Any] = {}
    for key, value in view.items():
        inner = _drop_emptied(original.get(key), value)
        if inner == {} and original.get(key) != {}:
            continue
        kept[key] = inner
    return kept
