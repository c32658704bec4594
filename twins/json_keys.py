"""Repeated keys in a JSON object, found without parsing a valid message twice.

The device contract refuses ``{"seq": 1, "seq": 2, …}``: JSON parsers keep the last
value silently, so the device and the platform would disagree on what was sent. pydantic's
parser has no option for it, and parsing every message a second time with
``json.loads(object_pairs_hook=…)`` costs ~3 µs against ~1 µs for the whole validation
(10 % of ingest's CPU per message; ``benchmarks/ingest_bench.py``).

So the check counts instead. A message that validated is valid JSON whose objects all map
onto model fields; the validated models say how many distinct keys it has. Every key is
followed by exactly one ``:`` outside strings, so when the payload holds no more colons
than distinct keys, no key can repeat (the common case: epoch-ms ``ts``, ~50 ns). Colons
inside strings (an RFC 3339 ``ts``, a URL) are left out by counting only between strings
(splitting on ``"``, ~0.3 µs, or with a string pattern when the payload has escapes), and
only a payload that then still has more key colons than distinct keys is parsed again, to
name the repeated key. tests/twins/test_json_keys.py checks the count
against ``json.loads`` on generated documents.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
"""A JSON string; scanning valid JSON left to right, matches are exactly its strings."""


@dataclass(slots=True)
class _Object:
    """A JSON object kept as its list of pairs, repeated keys included."""

    pairs: list[tuple[str, Any]]


def repeated_key(payload: bytes, distinct_keys: int) -> str | None:
    """The dotted path of a key that appears twice in one object of ``payload``
    (``data.waiting``), or None; ``payload`` must be valid JSON with ``distinct_keys``
    distinct keys over all its objects."""
    if payload.count(b":") <= distinct_keys:
        return None
    if b"\\" in payload:
        outside = _STRING.sub(b'""', payload)  # escaped quotes: find the strings properly
    else:
        # without escapes every '"' opens or closes a string: the even pieces are outside
        outside = b"".join(payload.split(b'"')[::2])
    if outside.count(b":") <= distinct_keys:
        return None
    return _find_repeated(payload)


def _find_repeated(payload: bytes) -> str | None:
    return _walk(json.loads(payload, object_pairs_hook=_Object), ())


def _walk(value: Any, path: tuple[str, ...]) -> str | None:
    if isinstance(value, _Object):
        names = [name for name, _ in value.pairs]
        for name in names:
            if names.count(name) > 1:
                return ".".join((*path, name))
        children = [(name, inner) for name, inner in value.pairs]
    elif isinstance(value, list):
        children = [(str(index), inner) for index, inner in enumerate(value)]
    else:
        return None
    for name, inner in children:
        found = _walk(inner, (*path, name))
        if found is not None:
            return found
    return None
