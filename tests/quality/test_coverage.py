"""The coverage readers against coverage.py's gold files, a real project, and coverage.py itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from quality.collectors import coverage
from tests.fixtures import DATA

EXPECTED = json.loads((DATA / "expected.json").read_text())["coverage"]


def values(readings) -> dict:
    return {r.key: r.value for r in readings}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_it_reads_cobertura_reports_exactly(name):
    expected = EXPECTED[name]["recomputed"]
    readings = coverage.collect(DATA / name)
    got = values(readings)
    assert got["coverage.statements"] == expected["lines_valid"]
    assert got["coverage.covered"] == expected["lines_covered"]
    assert got["coverage.missing"] == expected["lines_valid"] - expected["lines_covered"]
    assert round(got["coverage.line_percent"] / 100, 4) == expected["line_rate"]
    if expected["branch_rate"] is None:
        assert got["coverage.branch_percent"] is None
        assert readings[-1].reason == "the report holds no branch data"
    else:
        assert got["coverage.branch_percent"] / 100 == expected["branch_rate"]
    assert readings[0].detail["files"] == expected["files"]
    assert readings[0].source.tool_version == EXPECTED[name]["header"]["version"]


@pytest.fixture
def measured_package(tmp_path) -> Path:
    """A tiny package run under coverage.py with branch coverage: 7 statements, 5 run."""
    (tmp_path / "mod.py").write_text(
        "def f(x):\n    if x:\n        return 1\n    return 2\n\n\n"
        "def g():\n    return 3\n\n\nf(True)\n"
    )
    run = [sys.executable, "-m", "coverage", "run", "--branch", "mod.py"]
    subprocess.run(run, cwd=tmp_path, check=True, timeout=60)
    return tmp_path


def test_it_reads_a_data_file_and_the_json_report_alike(measured_package):
    subprocess.run(
        [sys.executable, "-m", "coverage", "json", "-o", "coverage.json"],
        cwd=measured_package,
        check=True,
        timeout=60,
    )
    from_data = values(coverage.collect(measured_package / ".coverage"))
    from_json = values(coverage.collect(measured_package / "coverage.json"))
    assert from_data == from_json
    assert from_data["coverage.statements"] == 7
    assert from_data["coverage.covered"] == 5
    assert from_data["coverage.line_percent"] == pytest.approx(100 * 5 / 7)
    assert from_data["coverage.branch_percent"] == 50.0


def test_it_reports_a_data_file_whose_sources_are_gone(measured_package):
    (measured_package / "mod.py").unlink()
    readings = coverage.collect(measured_package / ".coverage")
    assert all(r.value is None for r in readings)
    assert "mod.py" in readings[0].reason


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (b"{}", "not a coverage.py JSON report: no `totals` object"),
        (b"<testsuites/>", "not a Cobertura report: root element is <testsuites>"),
        (b"<coverage><packages><package>", "ParseError: no element found: line 1, column 29"),
        (b'{"totals": {', "JSONDecodeError: Expecting property name enclosed in double quotes:"),
        (
            b'<!DOCTYPE c [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><coverage>&b;</coverage>',
            "EntitiesForbidden",
        ),
    ],
)
def test_it_reports_bad_artefacts_as_not_measured(tmp_path, content, reason):
    path = tmp_path / "coverage.out"
    path.write_bytes(content)
    readings = coverage.collect(path)
    assert all(r.value is None for r in readings)
    assert readings[0].reason.startswith(reason)
