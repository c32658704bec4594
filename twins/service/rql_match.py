"""RQL on one document in memory: ``condition=`` and the change stream's ``filter``.

The twin of `twins.service.rql_sql`: the same tree, the same semantics (see
`twins.service.rql`), tested against a thing as a dict with its ``_`` fields. A field
with ``features/*`` matches when it matches for some feature (``empty`` when it is empty
for every feature).
"""

from __future__ import annotations

import re
from typing import Any

from twins.pointer import Pointer
from twins.service.rql import Compare, Empty, Exists, Logical, Node, Op, Scalar


def matches(node: Node, document: dict[str, Any]) -> bool:
    """True when ``document`` (a thing with its ``_`` fields) matches ``node``."""
    if isinstance(node, Logical):
        if node.op is Op.NOT:
            return not matches(node.children[0], document)
        results = (matches(child, document) for child in node.children)
        return all(results) if node.op is Op.AND else any(results)
    path = node.field
    if "*" in path:
        star = path.index("*")
        container = _at(document, path[:star])
        features = list(container.values()) if isinstance(container, dict) else []
        rest = path[star + 1 :]
        if isinstance(node, Empty):
            return all(_leaf(node, feature, rest) for feature in features)
        return any(_leaf(node, feature, rest) for feature in features)
    return _leaf(node, document, path)


def _leaf(node: Compare | Exists | Empty, document: Any, path: Pointer) -> bool:
    present, value = _lookup(document, path)
    if isinstance(node, Exists):
        return present
    if isinstance(node, Empty):
        return not present or _is_empty(value)
    if not present:
        return False
    candidates = value if isinstance(value, list) else [value]
    if node.op is Op.NE:
        return not any(_same(item, node.values[0]) for item in candidates)
    return any(_compare(node, item) for item in candidates)


def _compare(node: Compare, value: Any) -> bool:
    if node.op in (Op.EQ, Op.IN):
        return any(_same(value, operand) for operand in node.values)
    operand = node.values[0]
    if node.op in (Op.LIKE, Op.ILIKE):
        assert isinstance(operand, str)
        if not isinstance(value, str):
            return False
        if node.op is Op.ILIKE:
            return bool(_like_regex(operand.lower()).fullmatch(value.lower()))
        return bool(_like_regex(operand).fullmatch(value))
    return _ordered(value, node.op, operand)


def _lookup(document: Any, path: Pointer) -> tuple[bool, Any]:
    for key in path:
        if not isinstance(document, dict) or key not in document:
            return False, None
        document = document[key]
    return True, document


def _at(document: Any, path: Pointer) -> Any:
    return _lookup(document, path)[1]


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict) and len(value) == 0)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "structure"


def _same(value: Any, operand: Scalar) -> bool:
    return _kind(value) == _kind(operand) and bool(value == operand)


def _ordered(value: Any, op: Op, operand: Scalar) -> bool:
    kind = _kind(value)
    if kind != _kind(operand) or kind not in ("number", "string"):
        return False
    if op is Op.GT:
        return bool(value > operand)
    if op is Op.GE:
        return bool(value >= operand)
    if op is Op.LT:
        return bool(value < operand)
    return bool(value <= operand)


def _like_regex(pattern: str) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), flags=re.DOTALL)
