"""RQL's two evaluators agree: the SQL of the search and the in-memory predicate.

The parser is citytwin's own so that one tree drives both the search (SQLite) and
conditions and the change stream (Python). Here hypothesis writes random filters — as
RQL text, so the parser is exercised too — and random things with scalars, arrays,
nested objects, ``null`` and missing fields, stores them in a real `TwinStore` and checks
that the search finds exactly the things `matches` accepts.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twins.service.rql import parse_rql
from twins.service.rql_match import matches
from twins.service.store import SearchQuery, TwinStore

KEYS = ("a", "b")
FIELDS = (
    "attributes/a",
    "attributes/b",
    "attributes/a/b",
    "features/f/properties/a",
    "features/*/properties/a",
    "features/*/properties",
    "features/*",
    "thingId",
    "_revision",
)
TEXT = st.text(alphabet="ab*?[ ", max_size=3)
NUMBERS = st.integers(-3, 3) | st.sampled_from([-1.5, 0.5, 2.0, 2.5])
SCALARS = st.none() | st.booleans() | NUMBERS | TEXT
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner),
    max_leaves=6,
)
OBJECTS = st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=2)


@st.composite
def things(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(1, 6))
    found = []
    for index in range(count):
        thing: dict[str, Any] = {"thingId": f"prop.t:thing-{index}", "policyId": "prop.t:p"}
        if draw(st.booleans()):
            thing["attributes"] = draw(OBJECTS)
        features = draw(
            st.dictionaries(
                st.sampled_from(("f", "g")),
                st.builds(lambda properties: {"properties": properties}, OBJECTS),
                max_size=2,
            )
        )
        keep_empty: bool = draw(st.booleans())
        if features or keep_empty:
            thing["features"] = features
        found.append(thing)
    return found


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return orjson.dumps(value).decode()


@st.composite
def comparisons(draw: st.DrawFn) -> str:
    field = draw(st.sampled_from(FIELDS))
    op = draw(st.sampled_from(("eq", "ne", "gt", "ge", "lt", "le", "like", "ilike", "in")))
    if op in ("like", "ilike"):
        return f"{op}({field},{_literal(draw(TEXT))})"
    if op in ("gt", "ge", "lt", "le"):
        return f"{op}({field},{_literal(draw(NUMBERS | TEXT))})"
    if op == "in":
        values = draw(st.lists(SCALARS, min_size=1, max_size=3))
        return f"in({field},{','.join(_literal(value) for value in values)})"
    return f"{op}({field},{_literal(draw(SCALARS))})"


TESTS = st.builds(
    lambda op, field: f"{op}({field})",
    st.sampled_from(("exists", "empty")),
    st.sampled_from(FIELDS),
)
FILTERS = st.recursive(
    comparisons() | TESTS,
    lambda inner: (
        st.builds(lambda child: f"not({child})", inner)
        | st.builds(
            lambda op, children: f"{op}({','.join(children)})",
            st.sampled_from(("and", "or")),
            st.lists(inner, min_size=1, max_size=3),
        )
    ),
    max_leaves=5,
)


@pytest.fixture(scope="module")
def store() -> Iterator[TwinStore]:
    with tempfile.TemporaryDirectory() as state:
        opened = TwinStore.open(Path(state) / "twins.sqlite")
        yield opened
        opened.close()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents=things(), text=FILTERS)
def test_search_and_matches_agree(
    store: TwinStore, documents: list[dict[str, Any]], text: str
) -> None:
    node = parse_rql(text)
    with store.transaction() as tx:
        stored = [tx.put_thing(document, None) for document in documents]
    try:
        found = {row.thing_id for row in store.search(SearchQuery(filter=node, limit=100))}
        expected = {row.thing_id for row in stored if matches(node, row.with_meta())}
        assert found == expected, [row.doc for row in stored]
    finally:
        with store.transaction() as tx:
            for row in stored:
                tx.delete_thing(row.thing_id)
