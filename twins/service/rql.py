"""RQL, the query language of Ditto's search: parsed here, run as SQL or on one thing.

    query   := logical | compare | exists
    logical := ("and" | "or") "(" query ("," query)* ")" | "not" "(" query ")"
    compare := ("eq"|"ne"|"gt"|"ge"|"lt"|"le"|"like"|"ilike") "(" field "," value ")"
             | "in" "(" field "," value ("," value)* ")"
    exists  := "exists" "(" field ")"
    field   := thingId | policyId | definition | _namespace | _revision | _created
             | _modified | attributes/… | features/…    (``features/*/…``: any feature)
    value   := "string" | 'string' | number | true | false | null

Types never mix, as in Ditto: ``gt(features/queue/properties/waiting,5)`` matches numbers
above 5 only, ``eq(x,"5")`` matches the string only. ``like``/``ilike`` take ``*`` (any
run of characters) and ``?`` (one). ``ne`` and ``not`` also match things that lack the
field. The same tree becomes an SQL condition (`to_sql`) for the search and a Python
predicate (`matches`) for the change stream, so both agree on what matches.

Options: ``sort(+thingId,-attributes/site),size(50),cursor(…)``; ``limit(offset,count)``
is accepted for old clients.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from twins.errors import DittoBadRequestError, InvalidPointerError
from twins.pointer import Pointer, parse_pointer

Scalar = str | int | float | bool | None

COMPARISONS = frozenset({"eq", "ne", "gt", "ge", "lt", "le", "like", "ilike", "in"})
ORDERINGS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
COLUMNS = {
    "thingId": ("thing_id", "text"),
    "policyId": ("policy_id", "text"),
    "_namespace": ("namespace", "text"),
    "_revision": ("revision", "integer"),
    "_created": ("created", "text"),
    "_modified": ("modified", "text"),
}
JSON_ROOTS = frozenset({"definition", "attributes", "features"})
MAX_QUERY_LENGTH = 8192
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_DEPTH = 32
_SIMPLE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


@dataclass(slots=True, frozen=True)
class Compare:
    """``op(field, value…)``."""

    op: str
    field: Pointer
    values: tuple[Scalar, ...]


@dataclass(slots=True, frozen=True)
class Exists:
    """``exists(field)``."""

    field: Pointer


@dataclass(slots=True, frozen=True)
class Logical:
    """``and(…)``, ``or(…)`` or ``not(…)`` (one child)."""

    op: str
    children: tuple[Node, ...]


Node = Compare | Exists | Logical


@dataclass(slots=True, frozen=True)
class SearchOptions:
    """What ``option=`` asked for."""

    sort: tuple[tuple[Pointer, bool], ...] = ()  # (field, ascending)
    size: int | None = None
    cursor: str | None = None
    offset: int | None = None  # from the deprecated limit(offset,count)


@dataclass(slots=True)
class SqlCondition:
    """An SQL condition on table ``things`` and its parameters."""

    text: str
    params: list[Any] = field(default_factory=list)


def _invalid(text: str, position: int, reason: str) -> DittoBadRequestError:
    return DittoBadRequestError(
        f"the RQL expression {text!r} is invalid at position {position + 1}: {reason}",
        error="rql.expression.invalid",
        description='Write e.g. and(eq(attributes/site,"thaibinh.hcc"),'
        "gt(features/queue/properties/waiting,5)); strings in double quotes.",
    )


class _Parser:
    """A recursive-descent parser over one RQL string."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0

    def fail(self, reason: str) -> DittoBadRequestError:
        return _invalid(self.text, self.position, reason)

    def skip_spaces(self) -> None:
        while self.position < len(self.text) and self.text[self.position] == " ":
            self.position += 1

    def expect(self, char: str) -> None:
        self.skip_spaces()
        if not self.text.startswith(char, self.position):
            found = self.text[self.position : self.position + 1] or "the end"
            raise self.fail(f"expected {char!r}, found {found!r}")
        self.position += 1

    def peek(self) -> str:
        self.skip_spaces()
        return self.text[self.position : self.position + 1]

    def name(self) -> str:
        self.skip_spaces()
        start = self.position
        while self.position < len(self.text) and self.text[self.position].isalpha():
            self.position += 1
        return self.text[start : self.position]

    def query(self, depth: int = 0) -> Node:
        if depth > MAX_DEPTH:
            raise self.fail(f"nested deeper than {MAX_DEPTH} levels")
        start = self.position
        op = self.name()
        if not op:
            raise self.fail("expected an operator such as eq, and, exists")
        self.expect("(")
        node: Node
        if op in ("and", "or"):
            children = [self.query(depth + 1)]
            while self.peek() == ",":
                self.position += 1
                children.append(self.query(depth + 1))
            node = Logical(op, tuple(children))
        elif op == "not":
            node = Logical(op, (self.query(depth + 1),))
        elif op == "exists":
            node = Exists(self.field())
        elif op in COMPARISONS:
            path = self.field()
            self.expect(",")
            values = [self.value()]
            while op == "in" and self.peek() == ",":
                self.position += 1
                values.append(self.value())
            node = Compare(op, path, tuple(values))
            self.check_types(node, start)
        else:
            self.position = start
            raise self.fail(f"unknown operator {op!r}")
        self.expect(")")
        return node

    def field(self) -> Pointer:
        self.skip_spaces()
        start = self.position
        while self.position < len(self.text) and self.text[self.position] not in ",()":
            self.position += 1
        raw = self.text[start : self.position].strip()
        try:
            return check_field(raw)
        except DittoBadRequestError as exc:
            self.position = start
            raise self.fail(exc.message) from exc

    def value(self) -> Scalar:
        self.skip_spaces()
        char = self.text[self.position : self.position + 1]
        if char in ('"', "'"):
            return self.string(char)
        for word, literal in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, self.position):
                self.position += len(word)
                return literal
        match = _NUMBER.match(self.text, self.position)
        if match is None:
            raise self.fail("expected a value: a quoted string, a number, true, false or null")
        number = match.group()
        if any(c in number for c in ".eE"):
            self.position = match.end()
            return float(number)
        value = int(number)
        if not INT64_MIN <= value <= INT64_MAX:
            raise self.fail(f"{number} is outside the 64-bit integers that can be compared")
        self.position = match.end()
        return value

    def string(self, quote: str) -> str:
        self.position += 1
        chars: list[str] = []
        while self.position < len(self.text):
            char = self.text[self.position]
            if char == "\\" and self.position + 1 < len(self.text):
                chars.append(self.text[self.position + 1])
                self.position += 2
                continue
            if char == quote:
                self.position += 1
                return "".join(chars)
            chars.append(char)
            self.position += 1
        raise self.fail(f"the string is not closed with {quote}")

    def check_types(self, node: Compare, start: int) -> None:
        for value in node.values:
            if node.op in ORDERINGS and (value is None or isinstance(value, bool)):
                self.position = start
                raise self.fail(f"{node.op} needs a number or a string, not {value!r}")
            if node.op in ("like", "ilike") and not isinstance(value, str):
                self.position = start
                raise self.fail(f"{node.op} needs a quoted pattern, not {value!r}")


def check_field(raw: str) -> Pointer:
    """A searchable/sortable field as a pointer, or a 400 saying why it is not one."""
    try:
        path = parse_pointer(raw, where="field")
    except InvalidPointerError as exc:
        raise DittoBadRequestError(str(exc), error="rql.expression.invalid") from exc
    if not path:
        raise DittoBadRequestError("a field is missing", error="rql.expression.invalid")
    if path[0] in COLUMNS:
        if len(path) > 1:
            raise DittoBadRequestError(
                f"field {raw!r}: {path[0]} has no sub-fields", error="rql.expression.invalid"
            )
        return path
    if path[0] not in JSON_ROOTS:
        raise DittoBadRequestError(
            f"field {raw!r} is not searchable; use thingId, policyId, definition,"
            " _namespace, _revision, _created, _modified, attributes/… or features/…",
            error="rql.expression.invalid",
        )
    for index, key in enumerate(path):
        if key == "*" and not (index == 1 and path[0] == "features"):
            raise DittoBadRequestError(
                f"field {raw!r}: '*' is allowed only for the feature id (features/*/…)",
                error="rql.expression.invalid",
            )
        if '"' in key:
            raise DittoBadRequestError(
                f"field {raw!r}: keys with '\"' cannot be searched",
                error="rql.expression.invalid",
            )
    return path


def parse_rql(text: str) -> Node:
    """Parse a filter; a 400 ``rql.expression.invalid`` says what is wrong and where."""
    if len(text) > MAX_QUERY_LENGTH:
        raise _invalid(text[:40] + "…", 0, f"longer than {MAX_QUERY_LENGTH} characters")
    parser = _Parser(text)
    node = parser.query()
    parser.skip_spaces()
    if parser.position != len(text):
        raise parser.fail("unexpected text after the expression")
    return node


def parse_options(text: str) -> SearchOptions:
    """Parse ``option=sort(+thingId),size(10),cursor(…)``."""
    sort: tuple[tuple[Pointer, bool], ...] = ()
    size: int | None = None
    cursor: str | None = None
    offset: int | None = None
    for part in _split_top_level(text):
        match = re.fullmatch(r"\s*([a-z]+)\((.*)\)\s*", part, flags=re.DOTALL)
        if match is None:
            raise _option_error(text, f"{part!r} is not name(arguments)")
        name, argument = match.groups()
        if name == "sort":
            sort = tuple(_sort_key(text, key) for key in argument.split(","))
        elif name == "size":
            size = _int_option(text, argument, "size", 1)
        elif name == "cursor":
            if not re.fullmatch(r"[A-Za-z0-9_\-=]+", argument):
                raise _option_error(text, f"cursor {argument!r} is not a cursor we gave out")
            cursor = argument
        elif name == "limit":
            pieces = argument.split(",")
            if len(pieces) != 2:
                raise _option_error(text, "limit needs (offset,count)")
            offset = _int_option(text, pieces[0], "limit offset", 0)
            size = _int_option(text, pieces[1], "limit count", 1)
        else:
            raise _option_error(text, f"unknown option {name!r}; use sort, size or cursor")
    if offset is not None and cursor is not None:
        raise _option_error(text, "limit cannot be combined with cursor")
    return SearchOptions(sort=sort, size=size, cursor=cursor, offset=offset)


def _option_error(text: str, reason: str) -> DittoBadRequestError:
    return DittoBadRequestError(
        f"the search option {text!r} is invalid: {reason}",
        error="thing-search:option.invalid",
        description="Write e.g. sort(+thingId,-attributes/site),size(50),cursor(…).",
    )


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    start = 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return [part for part in parts if part.strip()]


def _sort_key(text: str, raw: str) -> tuple[Pointer, bool]:
    raw = raw.strip()
    ascending = not raw.startswith("-")
    name = raw[1:] if raw[:1] in "+-" else raw
    try:
        path = check_field(name)
    except DittoBadRequestError as exc:
        raise _option_error(text, exc.message) from exc
    if "*" in path:
        raise _option_error(text, f"cannot sort by {name!r}: '*' is not allowed in sort")
    return path, ascending


def _int_option(text: str, raw: str, what: str, minimum: int) -> int:
    if not re.fullmatch(r"\s*[0-9]{1,9}\s*", raw):
        raise _option_error(text, f"{what} {raw!r} is not a whole number")
    value = int(raw)
    if value < minimum:
        raise _option_error(text, f"{what} must be at least {minimum}")
    return value


# -- SQL ---------------------------------------------------------------------------------


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
        if node.op == "not":
            return f"NOT coalesce(({_sql(node.children[0], params)}), 0)"
        joiner = " AND " if node.op == "and" else " OR "
        return "(" + joiner.join(f"({_sql(child, params)})" for child in node.children) + ")"
    path = node.field
    if "*" in path:
        star = path.index("*")
        if not isinstance(node, Exists) and star == len(path) - 1:
            return "0"  # a whole feature never equals a scalar
        inner_node: Compare | Exists = (
            Exists(path[star + 1 :] or ("",))
            if isinstance(node, Exists)
            else Compare(node.op, path[star + 1 :], node.values)
        )
        inner = _leaf_sql(inner_node, params, source="w.value")
        feature_path = sql_literal(json_path(path[:star]))
        return f"EXISTS (SELECT 1 FROM json_each(doc, {feature_path}) AS w WHERE {inner})"
    return _leaf_sql(node, params, source="doc")


def _leaf_sql(node: Compare | Exists, params: list[Any], *, source: str) -> str:
    if isinstance(node, Exists):
        if node.field == ("",):  # features/* itself
            return "1"
        value, json_type = value_expression(node.field, source)
        return f"{json_type} IS NOT NULL" if json_type else f"{value} IS NOT NULL"
    if node.op == "ne":
        return f"NOT coalesce(({_equal(node.field, node.values[0], params, source)}), 0)"
    if node.op == "eq":
        return _equal(node.field, node.values[0], params, source)
    if node.op == "in":
        return "(" + " OR ".join(_equal(node.field, v, params, source) for v in node.values) + ")"
    value, json_type = value_expression(node.field, source)
    operand = node.values[0]
    if node.op in ("like", "ilike"):
        assert isinstance(operand, str)
        pattern = operand.replace("[", "[[]")
        guard = f" AND {json_type} = 'text'" if json_type else ""
        if node.op == "ilike":
            params.append(pattern.lower())
            return f"(citytwin_lower({value}) GLOB ?{guard})"
        params.append(pattern)
        return f"({value} GLOB ?{guard})"
    params.append(operand)
    return f"({value} {ORDERINGS[node.op]} ?{_type_guard(node.field, operand, json_type)})"


def _equal(path: Pointer, operand: Scalar, params: list[Any], source: str) -> str:
    value, json_type = value_expression(path, source)
    if json_type is None:
        if operand is None or isinstance(operand, bool):
            return "0"
    elif operand is None:
        return f"{json_type} = 'null'"
    elif isinstance(operand, bool):
        return f"{json_type} = '{'true' if operand else 'false'}'"
    params.append(operand)
    return f"({value} = ?{_type_guard(path, operand, json_type)})"


def _type_guard(path: Pointer, operand: Scalar, json_type: str | None) -> str:
    if json_type is None:
        column_type = COLUMNS[path[0]][1]
        wanted = "text" if isinstance(operand, str) else "integer"
        return "" if column_type == wanted else " AND 0"
    if isinstance(operand, str):
        return f" AND {json_type} = 'text'"
    return f" AND {json_type} IN ('integer', 'real')"


# -- Python ------------------------------------------------------------------------------


def referenced_fields(node: Node | None) -> tuple[Pointer, ...]:
    """Every field ``node`` tests, in order (a policy must let the caller read each one)."""
    if node is None:
        return ()
    if isinstance(node, Logical):
        return tuple(path for child in node.children for path in referenced_fields(child))
    return (node.field,)


def matches(node: Node, document: dict[str, Any]) -> bool:
    """True when ``document`` (a thing with its ``_`` fields) matches ``node``."""
    if isinstance(node, Logical):
        if node.op == "not":
            return not matches(node.children[0], document)
        results = (matches(child, document) for child in node.children)
        return all(results) if node.op == "and" else any(results)
    found = _values(document, node.field)
    if isinstance(node, Exists):
        return bool(found)
    if node.op == "ne":
        return not any(_same(value, node.values[0]) for value in found)
    if node.op in ("eq", "in"):
        return any(_same(value, operand) for value in found for operand in node.values)
    operand = node.values[0]
    if node.op in ("like", "ilike"):
        assert isinstance(operand, str)
        if node.op == "ilike":
            regex = _like_regex(operand.lower())
            return any(isinstance(v, str) and regex.fullmatch(v.lower()) for v in found)
        regex = _like_regex(operand)
        return any(isinstance(value, str) and regex.fullmatch(value) for value in found)
    return any(_ordered(value, node.op, operand) for value in found)


def _values(document: Any, path: Pointer) -> list[Any]:
    if not path:
        return [document]
    if not isinstance(document, dict):
        return []
    head, rest = path[0], path[1:]
    if head == "*":
        return [value for child in document.values() for value in _values(child, rest)]
    if head not in document:
        return []
    return _values(document[head], rest)


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


def _ordered(value: Any, op: str, operand: Scalar) -> bool:
    kind = _kind(value)
    if kind != _kind(operand) or kind not in ("number", "string"):
        return False
    if op == "gt":
        return bool(value > operand)
    if op == "ge":
        return bool(value >= operand)
    if op == "lt":
        return bool(value < operand)
    return bool(value <= operand)


def _like_regex(pattern: str) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), flags=re.DOTALL)
