"""The one way citytwin turns a pydantic ``ValidationError`` into words a person can act on.

Every boundary (device payloads, twin documents, settings, registry and scenario files)
reports a refused input as ``where: what`` lines. `problems` gives those lines' parts,
cleaned the same way everywhere: pydantic's union tags are dropped from the location
(``data.function-after[…].waiting`` is ``data.waiting``), ``Value error, `` is dropped
from messages raised by validators, and an unknown key says so in plain words. Callers
only choose how a location is written (`dotted` or `pointer`) and what to prefix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import ValidationError

UNKNOWN_FIELD = "unknown field (check the spelling)"


@dataclass(slots=True, frozen=True)
class Problem:
    """One refused value: where it is and what is wrong with it."""

    loc: tuple[int | str, ...]
    message: str
    type: str
    input: object


def problems(exc: ValidationError, *, unknown_field: str = UNKNOWN_FIELD) -> list[Problem]:
    """The problems of ``exc``, in pydantic's order."""
    found = []
    for error in exc.errors(include_url=False):
        loc = tuple(part for part in error["loc"] if not _is_union_tag(part))
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = unknown_field
        found.append(Problem(loc, message, error["type"], error["input"]))
    return found


def dotted(loc: Sequence[int | str]) -> str:
    """``data.waiting``, ``sites[0].devices[2].kind``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def pointer(loc: Sequence[int | str], prefix: str = "") -> str:
    """``/features/queue/properties`` (``prefix`` is the pointer of the validated part)."""
    location = "/".join(str(part) for part in loc)
    return f"{prefix}/{location}".replace("//", "/") if location else (prefix or "/")


def describe(exc: ValidationError, *, limit: int = 3, top: str = "(message)") -> str:
    """``data.waiting: Input should be a valid integer; seq: …`` for the first ``limit``
    problems (``top`` names a problem of the whole input), with how many more there are."""
    found = problems(exc)
    parts = [f"{dotted(problem.loc) or top}: {problem.message}" for problem in found[:limit]]
    more = len(found) - limit
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


def _is_union_tag(part: int | str) -> bool:
    # pydantic inserts the chosen union member's tag (e.g. 'function-after[...]') in locs
    return isinstance(part, str) and ("[" in part or part.startswith("function-"))
