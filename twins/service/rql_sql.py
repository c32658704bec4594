"""RQL as SQLite: one condition over table ``things``, for the search.

Each field is read with ``json_extract``/``json_type`` on the thing JSON (``doc``), with
paths written as literals so that the expression indexes of `TwinStore` apply. A
comparison tests the value itself, or — when the field holds an array — each element
(``json_each``), as Ditto's search indexes array elements. The OR of both stays
indexable: `TwinStore` indexes ``json_type`` of the same paths, so SQLite serves the
array branch from an index too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from twins.pointer import Pointer
from twins.service.rql import (
    COLUMNS,
    ORDERINGS,
    Compare,
    Empty,
    Exists,
    Logical,
    Node,
    Op,
    Scalar,
)

_SIMPLE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NUMERIC = "('integer', 'real')"


@dataclass(slots=True)
class SqlCondition:
    """An SQL condition on table ``things`` and its parameters."""

    text: str
    params: list[Any] = field(default_factory=list)


def json_path(pointer: Pointer) -> str:
    """SQLite's path for a pointer: ``$.attributes.site``, quoting unusual keys."""
    return "$" + "".join(f".{key}" if _SIMPLE_KEY.match(key) else f'."{key}"' for key in pointer)


def sql_literal(text: str) -> str:
    """A single-quoted SQL string literal (paths must be literal to use the indexes)."""
    return "'" + text.replace("'", "''") + "'"


def value_expression(pointer: Pointer, source: str = "doc") -> tuple[str, str | None]:
    """``(value expression, JSON type expression or None for plain columns)``."""
    if pointer[0] in COLUMNS:
        return COLUMNS[pointer[0]][0], None
    path = sql_literal(json_path(pointer))
    return f"json_extract({source}, {path})", f"json_type({source}, {path})"


def to_sql(node: Node) -> SqlCondition:
    """The node as an SQL condition over ``things``; index-friendly for plain ``and``."""
    condition = SqlCondition("")
    condition.text = _sql(node, condition.params)
    return condition


def _sql(node: Node, params: list[Any]) -> str:
    if isinstance(node, Logical):
        if node.op is Op.NOT:
            return f"NOT coalesce(({_sql(node.children[0], params)}), 0)"
        joiner = " AND " if node.op is Op.AND else " OR "
        return "(" + joiner.join(f"({_sql(child, params)})" for child in node.children) + ")"
    path = node.field
    if "*" not in path:
        return _leaf_sql(node, params, source="doc")
    star = path.index("*")
    features = sql_literal(json_path(path[:star]))
    rest = path[star + 1 :]
    if not rest:  # features/* itself: the feature objects
        if isinstance(node, Exists):
            return f"EXISTS (SELECT 1 FROM json_each(doc, {features}))"
        if isinstance(node, Empty):
            return (
                f"NOT EXISTS (SELECT 1 FROM json_each(doc, {features}) AS w"
                f" WHERE NOT {_empty_test('w.value', 'w.type')})"
            )
        if node.op is Op.NE:  # every feature is there, and an object equals no scalar
            return f"EXISTS (SELECT 1 FROM json_each(doc, {features}))"
        return "0"
    if isinstance(node, Empty):
        # empty everywhere: no feature has a value there that is not empty
        inner = _leaf_sql(Empty(rest), params, source="w.value")
        return f"NOT EXISTS (SELECT 1 FROM json_each(doc, {features}) AS w WHERE NOT ({inner}))"
    inner_node: Compare | Exists = (
        Exists(rest) if isinstance(node, Exists) else Compare(node.op, rest, node.values)
    )
    inner = _leaf_sql(inner_node, params, source="w.value")
    return f"EXISTS (SELECT 1 FROM json_each(doc, {features}) AS w WHERE {inner})"


def _leaf_sql(node: Compare | Exists | Empty, params: list[Any], *, source: str) -> str:
    value, json_type = value_expression(node.field, source)
    if isinstance(node, Exists):
        return f"{json_type} IS NOT NULL" if json_type else f"{value} IS NOT NULL"
    if isinstance(node, Empty):
        if json_type is None:
            return f"({value} IS NULL OR {value} = '')"
        return f"({json_type} IS NULL OR {_empty_test(value, json_type)})"
    if json_type is None:
        return _column_sql(node, value, params)
    # the value's type is tested with a unary +, which keeps SQLite from serving the
    # comparison from the type index instead of the value index
    direct = _any_operand(node, value, f"+{json_type}", params)
    path = sql_literal(json_path(node.field))
    elements = _any_operand(node, "e.value", "e.type", params)
    matched = (
        f"({direct} OR ({json_type} = 'array' AND EXISTS"
        f" (SELECT 1 FROM json_each({source}, {path}) AS e WHERE {elements})))"
    )
    if node.op is Op.NE:
        return f"({json_type} IS NOT NULL AND NOT coalesce({matched}, 0))"
    return matched


def _empty_test(value: str, json_type: str) -> str:
    return (
        f"({json_type} = 'null' OR ({json_type} = 'text' AND {value} = '')"
        f" OR ({json_type} IN ('array', 'object') AND {value} IN ('[]', '{{}}')))"
    )


def _any_operand(node: Compare, value: str, json_type: str, params: list[Any]) -> str:
    """The test of one value (``value`` of SQLite JSON type ``json_type``) against ``node``."""
    if node.op in (Op.EQ, Op.NE, Op.IN):
        tests = [_equal(value, json_type, operand, params) for operand in node.values]
        return tests[0] if len(tests) == 1 else "(" + " OR ".join(tests) + ")"
    operand = node.values[0]
    if node.op in (Op.LIKE, Op.ILIKE):
        assert isinstance(operand, str)
        pattern = operand.replace("[", "[[]")
        if node.op is Op.ILIKE:
            params.append(pattern.lower())
            return f"({json_type} = 'text' AND citytwin_lower({value}) GLOB ?)"
        params.append(pattern)
        return f"({json_type} = 'text' AND {value} GLOB ?)"
    params.append(operand)
    wanted = "= 'text'" if isinstance(operand, str) else f"IN {_NUMERIC}"
    return f"({json_type} {wanted} AND {value} {ORDERINGS[node.op]} ?)"


def _equal(value: str, json_type: str, operand: Scalar, params: list[Any]) -> str:
    if operand is None:
        return f"{json_type} = 'null'"
    if isinstance(operand, bool):
        return f"{json_type} = '{'true' if operand else 'false'}'"
    params.append(operand)
    wanted = "= 'text'" if isinstance(operand, str) else f"IN {_NUMERIC}"
    return f"({value} = ? AND {json_type} {wanted})"


def _column_sql(node: Compare, column: str, params: list[Any]) -> str:
    """A comparison on a plain column (``thingId``, ``_revision``, …): never an array."""
    column_type = COLUMNS[node.field[0]][1]

    def typed(operand: Scalar) -> bool:
        wanted = "text" if isinstance(operand, str) else "integer"
        return not (operand is None or isinstance(operand, bool)) and column_type == wanted

    if node.op in (Op.EQ, Op.NE, Op.IN):
        tests = []
        for operand in node.values:
            if typed(operand):
                params.append(operand)
                tests.append(f"{column} = ?")
        matched = "(" + " OR ".join(tests) + ")" if tests else "0"
        return f"NOT {matched}" if node.op is Op.NE else matched
    operand = node.values[0]
    if not typed(operand):
        return "0"
    if node.op in (Op.LIKE, Op.ILIKE):
        assert isinstance(operand, str)
        pattern = operand.replace("[", "[[]")
        if node.op is Op.ILIKE:
            params.append(pattern.lower())
            return f"(citytwin_lower({column}) GLOB ?)"
        params.append(pattern)
        return f"({column} GLOB ?)"
    params.append(operand)
    return f"({column} {ORDERINGS[node.op]} ?)"
