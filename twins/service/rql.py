"""RQL, the query language of Ditto's search: parsed here into one tree of `Node`s.

    query   := logical | compare | test
    logical := ("and" | "or") "(" query ("," query)* ")" | "not" "(" query ")"
    compare := ("eq"|"ne"|"gt"|"ge"|"lt"|"le"|"like"|"ilike") "(" field "," value ")"
             | "in" "(" field "," value ("," value)* ")"
    test    := ("exists" | "empty") "(" field ")"
    field   := thingId | policyId | definition | _namespace | _revision | _created
             | _modified | attributes/… | features/…    (``features/*/…``: any feature)
    value   := "string" | 'string' | number | true | false | null

Ditto's semantics (its search indexes every element of an array):

* types never mix: ``gt(features/queue/properties/waiting,5)`` matches numbers above 5
  only, ``eq(x,"5")`` matches the string only;
* a comparison with a field that holds an array matches when any element does:
  ``eq(attributes/tags,"lobby")`` matches ``"tags": ["lobby", "east"]``;
* ``ne(x,v)`` matches only things that have ``x`` (and no element equal to ``v``);
  ``not(eq(x,v))`` also matches things without ``x``;
* ``exists(x)``: ``x`` is there (``null`` included); ``empty(x)``: ``x`` is absent,
  ``null``, ``""``, ``[]`` or ``{}``;
* ``like``/``ilike`` take ``*`` (any run of characters) and ``?`` (one).

The same tree becomes an SQL condition for the search (`twins.service.rql_sql`) and a
Python predicate for conditions and the change stream (`twins.service.rql_match`); a
property test (tests/twins/test_rql_properties.py) checks that both agree.

Options: ``sort(+thingId,-attributes/site),size(50),cursor(…)``; ``limit(offset,count)``
is accepted for old clients.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from twins.errors import DittoBadRequestError, InvalidPointerError
from twins.pointer import Pointer, parse_pointer

Scalar = str | int | float | bool | None


class Op(StrEnum):
    """The operators of RQL."""

    EQ = "eq"
    NE = "ne"
    GT = "gt"
    GE = "ge"
    LT = "lt"
    LE = "le"
    IN = "in"
    LIKE = "like"
    ILIKE = "ilike"
    EXISTS = "exists"
    EMPTY = "empty"
    AND = "and"
    OR = "or"
    NOT = "not"


COMPARISONS = frozenset({Op.EQ, Op.NE, Op.GT, Op.GE, Op.LT, Op.LE, Op.LIKE, Op.ILIKE, Op.IN})
ORDERINGS = {Op.GT: ">", Op.GE: ">=", Op.LT: "<", Op.LE: "<="}
PATTERNS = frozenset({Op.LIKE, Op.ILIKE})
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
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


@dataclass(slots=True, frozen=True)
class Compare:
    """``op(field, value…)``."""

    op: Op
    field: Pointer
    values: tuple[Scalar, ...]


@dataclass(slots=True, frozen=True)
class Exists:
    """``exists(field)``."""

    field: Pointer


@dataclass(slots=True, frozen=True)
class Empty:
    """``empty(field)``: absent, null, ``""``, ``[]`` or ``{}``."""

    field: Pointer


@dataclass(slots=True, frozen=True)
class Logical:
    """``and(…)``, ``or(…)`` or ``not(…)`` (one child)."""

    op: Op
    children: tuple[Node, ...]


Node = Compare | Exists | Empty | Logical


@dataclass(slots=True, frozen=True)
class SearchOptions:
    """What ``option=`` asked for."""

    sort: tuple[tuple[Pointer, bool], ...] = ()  # (field, ascending)
    size: int | None = None
    cursor: str | None = None
    offset: int | None = None  # from the deprecated limit(offset,count)


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
            raise self.fail("expected an operator such as eq, and, exists, empty")
        self.expect("(")
        node: Node
        try:
            operator = Op(op)
        except ValueError:
            self.position = start
            raise self.fail(f"unknown operator {op!r}") from None
        if operator in (Op.AND, Op.OR):
            children = [self.query(depth + 1)]
            while self.peek() == ",":
                self.position += 1
                children.append(self.query(depth + 1))
            node = Logical(operator, tuple(children))
        elif operator is Op.NOT:
            node = Logical(operator, (self.query(depth + 1),))
        elif operator is Op.EXISTS:
            node = Exists(self.field())
        elif operator is Op.EMPTY:
            node = Empty(self.field())
        else:
            path = self.field()
            self.expect(",")
            values = [self.value()]
            while operator is Op.IN and self.peek() == ",":
                self.position += 1
                values.append(self.value())
            node = Compare(operator, path, tuple(values))
            self.check_types(node, start)
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
            if node.op in PATTERNS and not isinstance(value, str):
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


def referenced_fields(node: Node | None) -> tuple[Pointer, ...]:
    """Every field ``node`` tests, in order (a policy must let the caller read each one)."""
    if node is None:
        return ()
    if isinstance(node, Logical):
        return tuple(path for child in node.children for path in referenced_fields(child))
    return (node.field,)
