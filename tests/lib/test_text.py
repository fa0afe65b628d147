"""`lib.text`: which text can be stored, and the bounded-depth JSON parser (properties)."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lib.text import MAX_JSON_DEPTH, JSONDepthError, check_text, json_depth, loads_bounded
from tests.properties import PROPERTY

# Every code point, lone surrogates (category Cs) and NUL included.
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=30)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | ANY_TEXT,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(ANY_TEXT, children, max_size=3)
    ),
    max_leaves=20,
)


def storable(text: str) -> bool:
    return "\x00" not in text and not any(0xD800 <= ord(c) <= 0xDFFF for c in text)


@PROPERTY
@given(text=ANY_TEXT)
def test_check_text_takes_exactly_the_text_postgres_can_store(text):
    if storable(text):
        assert check_text(text, "f") == text
        text.encode("utf-8")  # a lone surrogate would raise here
    else:
        with pytest.raises(ValueError, match="^'f' contains a (NUL character|lone surrogate)"):
            check_text(text, "f")


@PROPERTY
@given(value=st.none() | st.booleans() | st.integers() | st.floats() | st.lists(st.text()))
def test_check_text_never_converts_another_type(value):
    with pytest.raises(ValueError, match="^'f' must be a string$"):
        check_text(value, "f")


def test_check_text_names_the_character_and_bounds_the_length():
    with pytest.raises(ValueError, match=r"'skill' contains a NUL character \('\\x00' at 1\)"):
        check_text("a\x00", "skill")
    with pytest.raises(ValueError, match=r"'skill' contains a lone surrogate \('\\ud800' at 0\)"):
        check_text(json.loads('"\\ud800"'), "skill")
    assert check_text("é" * 3, "skill", 3) == "ééé"
    with pytest.raises(ValueError, match="'skill' is longer than 3 characters"):
        check_text("abcd", "skill", 3)
    # A surrogate pair is one character, not a lone surrogate.
    assert check_text(json.loads('"\\ud83d\\ude00"'), "skill") == "😀"


def recursive_depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max(map(recursive_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(recursive_depth, value), default=0)
    return 0


@PROPERTY
@given(value=JSON_VALUES)
def test_json_depth_is_the_nesting_depth(value):
    assert json_depth(value) == recursive_depth(value)


@PROPERTY
@given(value=JSON_VALUES, max_depth=st.integers(0, 5))
def test_loads_bounded_parses_what_is_shallow_enough_and_refuses_the_rest(value, max_depth):
    text = json.dumps(value)
    if recursive_depth(value) <= max_depth:
        assert loads_bounded(text, max_depth=max_depth) == value
    else:
        with pytest.raises(JSONDepthError, match=f"^'body' is nested more than {max_depth} "):
            loads_bounded(text, max_depth=max_depth)


@PROPERTY
@given(depth=st.integers(1, 200_000), opener=st.sampled_from(["[", '{"a":']))
def test_loads_bounded_never_recurses_out_of_stack(depth, opener):
    closer = "]" if opener == "[" else "}"
    text = opener * depth + ("null" if opener != "[" else "") + closer * depth
    if depth <= MAX_JSON_DEPTH:
        assert json_depth(loads_bounded(text)) == depth
    else:
        with pytest.raises(JSONDepthError):
            loads_bounded(text)


@pytest.mark.parametrize(
    ("text", "pick"),
    [("NaN", lambda v: v), ("[Infinity]", lambda v: v[0]), ('{"a": -Infinity}', lambda v: v["a"])],
)
def test_loads_bounded_is_strict_json_unless_told(text, pick):
    with pytest.raises(ValueError, match="is not valid JSON"):
        loads_bounded(text)
    assert not math.isfinite(pick(loads_bounded(text, allow_constants=True)))
