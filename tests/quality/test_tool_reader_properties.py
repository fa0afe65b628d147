"""Properties of the ruff, bandit, radon and mypy readers: any artefact gives each key once,
measured and finite or not measured with a reason, and never an exception."""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Callable
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from quality.collectors import tools
from quality.collectors.base import Reading
from tests.properties import PROPERTY

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=6)
)
VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)


def dumps(value: object) -> bytes:
    # allow_nan: reports written by other tools may carry NaN, which Python's json reads back.
    return json.dumps(value, allow_nan=True).encode()


RUFF = st.lists(
    st.fixed_dictionaries({"code": SCALARS}, optional={"filename": SCALARS}), max_size=4
).map(dumps)
BANDIT = st.fixed_dictionaries(
    {
        "results": st.lists(
            st.dictionaries(
                st.sampled_from(["issue_severity", "filename", "line_number", "test_id"]),
                SCALARS | st.sampled_from(["HIGH", "MEDIUM", "LOW"]),
            ),
            max_size=4,
        )
    },
    optional={"errors": VALUES},
).map(dumps)
RADON = st.dictionaries(
    st.text(max_size=6),
    st.lists(
        st.fixed_dictionaries(
            {
                "type": st.sampled_from(["function", "method", "class"]) | SCALARS,
                "name": SCALARS,
                "complexity": SCALARS,
            },
            optional={"lineno": SCALARS, "classname": SCALARS},
        ),
        max_size=3,
    )
    | VALUES,
    max_size=3,
).map(dumps)
MYPY = st.lists(
    st.dictionaries(st.sampled_from(["severity", "code", "message"]), SCALARS | st.just("error")),
    max_size=4,
).map(lambda items: b"\n".join(dumps(i) for i in items))
DEEP = st.integers(1, 3000).map(lambda n: b"[" * n + b"]" * n)
ANY_BYTES = st.binary(max_size=200) | VALUES.map(dumps) | DEEP


def read(collect: Callable[..., list[Reading]], content: bytes) -> list[Reading]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "report.json"
        path.write_bytes(content)
        return collect(Path(tmp), artefact=path)


def assert_sound(readings: list[Reading], keys: tuple[str, ...]) -> None:
    assert sorted(r.key for r in readings) == sorted(keys)
    for r in readings:
        if r.value is None:
            assert r.reason
        else:
            assert math.isfinite(r.value) and r.value >= 0, r


@PROPERTY
@given(RUFF | ANY_BYTES)
def test_the_ruff_reader_gives_counts_or_a_reason(content):
    assert_sound(read(tools.collect_ruff, content), tools.RUFF_KEYS)


@PROPERTY
@given(BANDIT | ANY_BYTES)
def test_the_bandit_reader_gives_counts_or_a_reason(content):
    assert_sound(read(tools.collect_bandit, content), tools.BANDIT_KEYS)


@PROPERTY
@given(RADON | ANY_BYTES)
def test_the_radon_reader_gives_finite_complexities_or_a_reason(content):
    assert_sound(read(tools.collect_radon, content), tools.RADON_KEYS)


@PROPERTY
@given(MYPY | ANY_BYTES)
def test_the_mypy_reader_gives_a_count_or_a_reason(content):
    assert_sound(read(tools.collect_mypy, content), tools.MYPY_KEYS)


def test_a_radon_complexity_that_is_not_a_count_is_not_measured(tmp_path):
    report = tmp_path / "radon.json"
    report.write_bytes(dumps({"a.py": [{"type": "function", "name": "f", "complexity": 1e999}]}))
    got = {r.key: r for r in tools.collect_radon(tmp_path, artefact=report)}
    assert got["complexity.max"].value is None
    assert "complexity" in got["complexity.max"].reason
