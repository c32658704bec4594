"""JSON pointers into twins, written the way Ditto writes them: ``attributes/location/room``.

A pointer is a sequence of keys. The leading ``/`` is optional, ``~1`` and ``~0`` escape
``/`` and ``~`` (RFC 6901); empty keys (``a//b``) and control characters are refused, as
Ditto refuses them. The helpers read and change plain JSON values (dicts, lists, scalars)
and never touch their input in place: writers copy the path they change.
"""

from __future__ import annotations

import re
from typing import Any

from twins.errors import InvalidPointerError

Pointer = tuple[str, ...]

MAX_POINTER_LENGTH = 2048
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def parse_pointer(text: str, *, where: str = "pointer") -> Pointer:
    """Parse ``a/b/c`` (or ``/a/b/c``) into keys; ``""`` and ``"/"`` are the root."""
    if len(text) > MAX_POINTER_LENGTH:
        raise InvalidPointerError(
            f"{where} {text[:40]!r}… is {len(text)} characters long;"
            f" at most {MAX_POINTER_LENGTH} are allowed"
        )
    body = text.removeprefix("/")
    if not body:
        return ()
    keys = body.split("/")
    for index, key in enumerate(keys):
        if not key:
            raise InvalidPointerError(
                f"{where} {text!r} has an empty key at position {index + 1}"
                " (two slashes in a row, or a trailing slash)"
            )
        if _CONTROL.search(key):
            raise InvalidPointerError(f"{where} {text!r} contains a control character")
    return tuple(key.replace("~1", "/").replace("~0", "~") for key in keys)


def format_pointer(pointer: Pointer) -> str:
    """The text form, with a leading ``/`` (``/attributes/site``)."""
    return "/" + "/".join(key.replace("~", "~0").replace("/", "~1") for key in pointer)


def get_at(value: Any, pointer: Pointer) -> Any:
    """The value at ``pointer``; ``KeyError`` when any key on the way is missing."""
    for key in pointer:
        if not isinstance(value, dict) or key not in value:
            raise KeyError(key)
        value = value[key]
    return value


def has_at(value: Any, pointer: Pointer) -> bool:
    """True when ``pointer`` leads to a value (JSON ``null`` counts as a value)."""
    try:
        get_at(value, pointer)
    except KeyError:
        return False
    return True


def set_at(document: dict[str, Any], pointer: Pointer, new: Any) -> dict[str, Any]:
    """A copy of ``document`` with ``new`` at ``pointer``; missing objects on the way are made.

    A non-object on the way is replaced by an object, as Ditto does when a PUT goes below
    a scalar attribute.
    """
    if not pointer:
        if not isinstance(new, dict):
            raise InvalidPointerError("only an object can replace the whole document")
        return new
    head, rest = pointer[0], pointer[1:]
    copy = dict(document)
    if rest:
        child = copy.get(head)
        copy[head] = set_at(child if isinstance(child, dict) else {}, rest, new)
    else:
        copy[head] = new
    return copy


def delete_at(document: dict[str, Any], pointer: Pointer) -> dict[str, Any]:
    """A copy of ``document`` without the value at ``pointer``; ``KeyError`` when missing."""
    if not pointer:
        raise InvalidPointerError("the whole document cannot be deleted through a pointer")
    head, rest = pointer[0], pointer[1:]
    if head not in document:
        raise KeyError(head)
    copy = dict(document)
    if rest:
        child = copy[head]
        if not isinstance(child, dict):
            raise KeyError(rest[0])
        copy[head] = delete_at(child, rest)
    else:
        del copy[head]
    return copy


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch: objects merge key by key, ``null`` deletes, rest replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def nest(pointer: Pointer, value: Any) -> Any:
    """``value`` wrapped in objects along ``pointer``: ``nest(("a",), 1)`` is ``{"a": 1}``."""
    for key in reversed(pointer):
        value = {key: value}
    return value
