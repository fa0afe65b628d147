"""Properties of the JUnit and coverage readers: any bytes give readings or a not-measured
reason, never an exception, and every measured value is finite and inside its range."""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Callable
from pathlib import Path

from coverage import CoverageData
from hypothesis import given
from hypothesis import strategies as st

from lib.ranges import DURATION_MAX_S
from quality.collectors import coverage, junit
from quality.collectors.base import Reading
from tests.properties import PROPERTY

# Numbers as text, the way reports carry them: the edge cases first.
NUMBER_TEXT = st.one_of(
    st.sampled_from(["nan", "NaN", "inf", "-inf", "1e999", "-1", "0", "1e308", "12", ""]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers().map(str),
    st.text(max_size=8),
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)
COVERAGE_KEYS = ["num_statements", "covered_lines", "num_branches", "covered_branches"]


def xml_safe(text: str) -> str:
    """Text that stays inside an XML attribute, so the element itself is what is tested."""
    return text.replace('"', "").replace("<", "").replace("&", "")


ATTRIBUTE = NUMBER_TEXT.map(xml_safe)


def junit_xml(times: list[str]) -> bytes:
    cases = "".join(f'<testcase name="t{i}" time="{t}"/>' for i, t in enumerate(times))
    return f"<testsuites><testsuite>{cases}</testsuite></testsuites>".encode()


def cobertura_xml(lines: list[tuple[str, str, str]]) -> bytes:
    body = "".join(
        f'<line number="{n}" hits="{h}" branch="true" condition-coverage="({c})"/>'
        for n, h, c in lines
    )
    classes = f'<classes><class filename="a.py"><lines>{body}</lines></class></classes>'
    return f"<coverage>{classes}</coverage>".encode()


def data_file(lines: dict[str, list[int]]) -> bytes:
    """A real coverage.py data file measuring these paths."""
    with tempfile.TemporaryDirectory() as tmp:
        data = CoverageData(basename=str(Path(tmp) / ".coverage"))
        data.add_lines(lines)
        data.write()
        return (Path(tmp) / ".coverage").read_bytes()


DATA_FILES = st.dictionaries(
    st.sampled_from(["/etc/passwd", "/dev/zero", "a.py", "../a.py", "/tmp"]) | st.text(min_size=1),
    st.lists(st.integers(1, 100_000), max_size=5),
    max_size=3,
).map(data_file)


def read(collect: Callable[..., list[Reading]], content: bytes, name: str) -> list[Reading]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(content)
        return collect(path, root=Path(tmp))


def assert_sound(readings: list[Reading], keys: tuple[str, ...]) -> dict[str, float]:
    """Every key once; each measured and finite, or not measured with a reason."""
    assert sorted(r.key for r in readings) == sorted(keys)
    got = {}
    for r in readings:
        if r.value is None:
            assert r.reason
        else:
            assert math.isfinite(r.value) and r.value >= 0, r
            got[r.key] = r.value
    return got


@PROPERTY
@given(
    st.one_of(
        st.binary(max_size=300),
        st.lists(
            NUMBER_TEXT.map(lambda t: t.replace('"', "").replace("<", "").replace("&", "")),
            max_size=5,
        ).map(junit_xml),
    )
)
def test_the_junit_reader_never_raises_and_measures_only_finite_values(content):
    got = assert_sound(read(junit.collect, content, "junit.xml"), junit.KEYS)
    if "tests.duration_s" in got:
        assert got["tests.duration_s"] <= DURATION_MAX_S * max(got["tests.total"], 1)
        parts = ("tests.passed", "tests.failed", "tests.errors", "tests.skipped")
        assert sum(got[k] for k in parts) == got["tests.total"]


@PROPERTY
@given(
    st.one_of(
        st.binary(max_size=300),
        st.binary(max_size=300).map(lambda b: b"SQLite format 3\0" + b),
        st.fixed_dictionaries(
            {
                "totals": st.dictionaries(st.sampled_from(COVERAGE_KEYS), JSON_VALUES),
                "meta": JSON_VALUES,
            }
        ).map(lambda d: json.dumps(d).encode()),
        st.lists(
            st.tuples(NUMBER_TEXT, NUMBER_TEXT, st.tuples(NUMBER_TEXT, NUMBER_TEXT).map("/".join)),
            max_size=4,
        ).map(
            lambda lines: cobertura_xml(
                [(_xml_safe(line[0]), _xml_safe(line[1]), _xml_safe(line[2])) for line in lines]
            )
        ),
    ),
    st.booleans(),
)
def test_the_coverage_reader_never_raises_and_measures_only_values_in_range(content, sources):
    collect = coverage.collect if sources else coverage.collect_without_sources
    got = assert_sound(read(collect, content, "coverage.out"), coverage.KEYS)
    for key in ("coverage.line_percent", "coverage.branch_percent"):
        assert got.get(key, 0) <= 100
    if "coverage.statements" in got:
        assert got["coverage.covered"] <= got["coverage.statements"]
        assert got["coverage.missing"] == got["coverage.statements"] - got["coverage.covered"]


def _xml_safe(text: str) -> str:
    """Text with the characters that would break the attribute it is written into removed."""
    return text.replace('"', "").replace("<", "").replace("&", "")
