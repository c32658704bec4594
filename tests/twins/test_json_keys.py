"""The repeated-key check agrees with a full parse on crafted and generated documents."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from twins.json_keys import repeated_key

KEYS = st.sampled_from(["a", "b", "ts", "a:b", 'q"u', "\\", "é", ":"])
SCALARS = st.none() | st.booleans() | st.integers() | st.text(alphabet=':"\\ ,{}ab', max_size=6)


def _distinct(value: Any) -> int:
    if isinstance(value, list) and value and value[0] == "obj":
        pairs = dict(value[1])
        return len(pairs) + sum(_distinct(inner) for inner in pairs.values())
    if isinstance(value, list):
        return sum(_distinct(inner) for inner in value[1])
    return 0


def _render(value: Any, spaced: bool) -> str:
    colon = " : " if spaced else ":"
    if isinstance(value, list) and value and value[0] == "obj":
        inner = ", ".join(f"{json.dumps(k)}{colon}{_render(v, spaced)}" for k, v in value[1])
        return "{" + inner + "}"
    if isinstance(value, list):
        return "[" + ",".join(_render(inner, spaced) for inner in value[1]) + "]"
    return json.dumps(value)


DOCUMENTS = st.recursive(
    SCALARS,
    lambda children: (
        st.tuples(st.just("obj"), st.lists(st.tuples(KEYS, children), max_size=4)).map(list)
        | st.tuples(st.just("arr"), st.lists(children, max_size=3)).map(list)
    ),
    max_leaves=12,
)


def _has_repeat(text: str) -> bool:
    repeated = False

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal repeated
        repeated = repeated or len({k for k, _ in pairs}) < len(pairs)
        return dict(pairs)

    json.loads(text, object_pairs_hook=hook)
    return repeated


@given(DOCUMENTS, st.booleans())
def test_the_count_finds_exactly_the_documents_with_a_repeated_key(
    document: Any, spaced: bool
) -> None:
    text = _render(document, spaced)
    found = repeated_key(text.encode(), _distinct(document))
    assert (found is not None) == _has_repeat(text)


def test_the_path_names_the_object_and_the_key() -> None:
    payload = b'{"ts":"08:00:00","data":{"args":{"x":1,"x":2}}}'
    assert repeated_key(payload, 4) == "data.args.x"
    assert repeated_key(b'{"a":1,"\\u0061":2}', 1) == "a"
    assert repeated_key(b'{"a":"x:y","b":"::"}', 2) is None
