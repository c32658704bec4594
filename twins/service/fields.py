"""Ditto field selectors: ``thingId,attributes(site,room),features/*/properties/online``.

A selector is a comma-separated list of JSON pointers; ``path(a,b)`` groups sub-pointers
under ``path`` (groups nest), and ``*`` as a key matches every key at that level (Ditto
allows it for feature ids). Selecting keeps the structure: ``attributes/site`` on a thing
gives ``{"attributes": {"site": …}}``. Missing paths are left out, never an error.
"""

from __future__ import annotations

from typing import Any

from twins.errors import DittoBadRequestError, InvalidPointerError
from twins.pointer import Pointer, parse_pointer

WILDCARD = "*"
MAX_SELECTOR_LENGTH = 4096


def _invalid(text: str, reason: str) -> DittoBadRequestError:
    return DittoBadRequestError(
        f"the field selector {text!r} is invalid: {reason}",
        error="json.fieldselector.invalid",
        description="Use comma-separated JSON pointers, e.g."
        " 'thingId,attributes(site,room),features/*/properties/online'.",
    )


def parse_fields(text: str) -> tuple[Pointer, ...]:
    """Expand a selector into pointers; raises a 400 naming the problem and its position."""
    if len(text) > MAX_SELECTOR_LENGTH:
        raise _invalid(text[:40] + "…", f"longer than {MAX_SELECTOR_LENGTH} characters")
    pointers, position = _parse_list(text, 0, ())
    if position != len(text):
        raise _invalid(text, f"unexpected ')' at position {position + 1}")
    return pointers


def _parse_list(text: str, position: int, prefix: Pointer) -> tuple[tuple[Pointer, ...], int]:
    pointers: list[Pointer] = []
    while True:
        start = position
        while position < len(text) and text[position] not in ",()":
            position += 1
        raw = text[start:position].strip()
        if not raw:
            raise _invalid(text, f"an empty field at position {start + 1}")
        try:
            path = parse_pointer(raw, where="field")
        except InvalidPointerError as exc:
            raise _invalid(text, str(exc)) from exc
        if not path:
            raise _invalid(text, f"an empty field at position {start + 1}")
        if position < len(text) and text[position] == "(":
            inner, position = _parse_list(text, position + 1, prefix + path)
            if position >= len(text) or text[position] != ")":
                raise _invalid(text, f"the '(' after {raw!r} is not closed")
            position += 1
            pointers.extend(inner)
        else:
            pointers.append(prefix + path)
        if position < len(text) and text[position] == ",":
            position += 1
            continue
        return tuple(pointers), position


def _matches(value: Any, pointer: Pointer, taken: Pointer) -> list[tuple[Pointer, Any]]:
    if not pointer:
        return [(taken, value)]
    if not isinstance(value, dict):
        return []
    head, rest = pointer[0], pointer[1:]
    if head == WILDCARD:
        found: list[tuple[Pointer, Any]] = []
        for key, child in value.items():
            found.extend(_matches(child, rest, (*taken, key)))
        return found
    if head not in value:
        return []
    return _matches(value[head], rest, (*taken, head))


def select_fields(document: dict[str, Any], pointers: tuple[Pointer, ...]) -> dict[str, Any]:
    """The parts of ``document`` the pointers select, in the document's shape."""
    result: dict[str, Any] = {}
    for pointer in pointers:
        for path, value in _matches(document, pointer, ()):
            target = result
            for key in path[:-1]:
                child = target.get(key)
                # copied on the way down: a wider selection may have put a part of
                # the document itself here, which must not be changed
                child = dict(child) if isinstance(child, dict) else {}
                target[key] = child
                target = child
            existing = target.get(path[-1])
            if isinstance(existing, dict) and isinstance(value, dict):
                target[path[-1]] = {**existing, **value}
            else:
                target[path[-1]] = value
    return result
