"""Conditional requests: ``If-Match``/``If-None-Match``, ``condition=`` and ``if-equal``.

Ditto checks them after the policy allowed the request and before anything changes:

* ``If-Match``/``If-None-Match`` compare ETags (``"rev:N"`` for a thing, ``"hash:…"`` for
  a part): 412 on a write, 304 for a read whose ``If-None-Match`` matched;
* ``condition`` (RQL, Ditto ≥ 2.1) is tested against the thing as the caller may read
  it: 412 ``things:condition.failed`` when false;
* ``if-equal=skip`` (or ``skip-minimizing-merge``) refuses a write that would leave the
  thing as it is: 412, and nothing is written or sent on the change stream.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from twins.errors import DittoPreconditionFailedError
from twins.service.errors import NotModifiedError
from twins.service.rql import Node
from twins.service.rql_match import matches


class IfEqual(StrEnum):
    """Ditto's ``if-equal`` header: what to do with a write that changes nothing."""

    UPDATE = "update"
    SKIP = "skip"
    SKIP_MINIMIZING_MERGE = "skip-minimizing-merge"


def revision_tag(revision: int) -> str:
    """The ETag of a whole thing or policy: ``"rev:7"``."""
    return f'"rev:{revision}"'


def value_tag(value: Any) -> str:
    """The ETag of a sub-resource: a hash of its value, ``"hash:…"`` as Ditto does."""
    digest = hashlib.blake2b(orjson.dumps(value, option=orjson.OPT_SORT_KEYS), digest_size=8)
    return f'"hash:{digest.hexdigest()}"'


def same_json(left: Any, right: Any) -> bool:
    """Equal as JSON (``1`` is not ``true``, which Python's ``==`` would say it is)."""
    return left is right or orjson.dumps(left, option=orjson.OPT_SORT_KEYS) == orjson.dumps(
        right, option=orjson.OPT_SORT_KEYS
    )


def _tags(header: str) -> list[str]:
    tags = []
    for raw in header.split(","):
        tag = raw.strip().removeprefix("W/")
        if tag and not tag.startswith('"') and tag != "*":
            tag = f'"{tag}"'
        if tag:
            tags.append(tag)
    return tags


@dataclass(slots=True, frozen=True)
class Conditions:
    """The preconditions of one request."""

    if_match: str | None = None
    if_none_match: str | None = None
    condition: Node | None = None
    condition_text: str = ""
    if_equal: IfEqual = IfEqual.UPDATE

    def check(self, current: str | None, revision: str | None, *, reading: bool) -> None:
        """Raise 412 (or 304 for a read) when the ETag conditions do not hold.

        ``current`` is the ETag of the resource (None: it does not exist); ``revision``
        the thing's ``"rev:N"``, accepted by ``If-Match`` on sub-resources too.
        """
        if self.if_match is not None:
            tags = _tags(self.if_match)
            if revision is not None and revision in tags:
                pass  # the whole thing is as the caller last saw it
            elif current is None or ("*" not in tags and current not in tags):
                raise DittoPreconditionFailedError(
                    f"The comparison of precondition header 'if-match' for the requested"
                    f" resource evaluated to false. Header value: '{self.if_match}', actual"
                    f" entity-tag: '{current or 'none (it does not exist)'}'.",
                    description="The comparison of the provided precondition header"
                    " 'if-match' with the current ETag value of the requested resource"
                    " evaluated to false. Check the value of your conditional header value.",
                    headers={"ETag": current} if current else {},
                )
        if self.if_none_match is not None and current is not None:
            tags = _tags(self.if_none_match)
            if "*" in tags or current in tags:
                if reading:
                    raise NotModifiedError(current)
                raise DittoPreconditionFailedError(
                    f"The comparison of precondition header 'if-none-match' for the requested"
                    f" resource evaluated to false. Header value: '{self.if_none_match}',"
                    f" actual entity-tag: '{current}'.",
                    description="The resource already exists or has this ETag.",
                    headers={"ETag": current},
                )

    def check_condition(self, thing_id: str, view: Any) -> None:
        """412 when ``condition`` does not hold for ``view`` (the caller's view of the thing,
        with its ``_`` fields; `MISSING` or ``{}`` when it does not exist)."""
        if self.condition is None:
            return
        document = view if isinstance(view, dict) else {}
        if not matches(self.condition, document):
            raise DittoPreconditionFailedError(
                f"The specified condition {self.condition_text!r} does not match the state"
                f" of the Thing with ID '{thing_id}'.",
                error="things:condition.failed",
                description="The thing was left unchanged; read it and retry with a"
                " condition that holds.",
            )

    def check_changes(self, entity_id: str, before: Any, after: Any) -> None:
        """412 under ``if-equal=skip…`` when the write would leave the thing (or policy)
        as it is."""
        if self.if_equal is not IfEqual.UPDATE and same_json(before, after):
            raise DittoPreconditionFailedError(
                f"'{entity_id}' already is as this request would make it;"
                f" 'if-equal: {self.if_equal}' left it unchanged.",
                error="things:precondition.failed",
                description="Send 'if-equal: update' (the default) to write it anyway.",
            )


def minimized_patch(current: Any, patch: Any) -> Any:
    """The part of a merge ``patch`` that changes ``current`` (``skip-minimizing-merge``)."""
    if not isinstance(patch, dict) or not isinstance(current, dict):
        return patch
    changed: dict[str, Any] = {}
    for key, value in patch.items():
        if key not in current:
            if value is not None:
                changed[key] = value
            continue
        if isinstance(value, dict) and isinstance(current[key], dict):
            inner = minimized_patch(current[key], value)
            if inner != {}:
                changed[key] = inner
        elif value is None or not same_json(value, current[key]):
            changed[key] = value
    return changed
