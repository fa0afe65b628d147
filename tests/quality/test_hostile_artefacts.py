"""Hostile artefacts at the readers: a value that is not finite or out of its range is not
measured with the reason, and a data file's sources are read only inside the root."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import coverage
import pytest

from quality.collectors import coverage as coverage_collector
from quality.collectors import junit
from quality.collectors.base import ArtefactError, read_regular


def values(readings) -> dict:
    return {r.key: r.value for r in readings}


def reasons(readings) -> set[str]:
    return {r.reason for r in readings}


@pytest.fixture(autouse=True)
def no_hang():
    """A FIFO opened for reading blocks until a writer comes: fail instead of hanging."""

    def expire(signum, frame):
        raise TimeoutError("the reader blocked")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize(
    ("time", "reason"),
    [
        ("nan", "testcase 'time' must be a finite number >= 0: 'nan'"),
        ("1e999", "testcase 'time' must be a finite number >= 0: '1e999'"),
        ("-INF", "testcase 'time' must be a finite number >= 0: '-INF'"),
        ("-0.5", "testcase 'time' must be a finite number >= 0: '-0.5'"),
        ("1e300", "testcase 'time' must be at most 604800 s (7 days): '1e300'"),
    ],
)
def test_junit_times_out_of_range_are_not_measured(tmp_path, time, reason):
    path = tmp_path / "junit.xml"
    path.write_text(
        f'<testsuite><testcase name="a" time="1"/><testcase name="b" time="{time}"/></testsuite>'
    )
    readings = junit.collect(path)
    assert values(readings) == dict.fromkeys(junit.KEYS)
    assert reasons(readings) == {reason}


def write_json(tmp_path: Path, totals: dict, meta: dict | None = None) -> Path:
    path = tmp_path / "coverage.json"
    path.write_text(json.dumps({"meta": meta or {}, "totals": totals}))
    return path


@pytest.mark.parametrize(
    ("totals", "reason"),
    [
        ({"num_statements": 10, "covered_lines": 12}, "covered_lines 12 > num_statements 10"),
        ({"num_statements": -10, "covered_lines": 0}, "num_statements -10 is outside 0..2**53"),
        ({"num_statements": 10, "covered_lines": -1}, "covered_lines -1 is outside 0..2**53"),
        (
            {"num_statements": 1e999, "covered_lines": 1},
            "coverage.json totals.num_statements is not an integer: inf",
        ),
        (
            {"num_statements": True, "covered_lines": 1},
            "coverage.json totals.num_statements is not an integer: True",
        ),
        ({"num_statements": 10}, "coverage.json totals lack 'covered_lines'"),
        (
            {"num_statements": 10, "covered_lines": 5, "num_branches": 2, "covered_branches": 3},
            "covered_branches 3 > num_branches 2",
        ),
    ],
)
def test_coverage_json_counts_out_of_range_are_not_measured(tmp_path, totals, reason):
    reason = reason.replace("2**53", str(2**53))
    readings = coverage_collector.collect(write_json(tmp_path, totals))
    assert values(readings) == dict.fromkeys(coverage_collector.KEYS)
    assert reasons(readings) == {reason}


def test_coverage_json_with_meta_that_is_not_an_object_is_still_read(tmp_path):
    path = tmp_path / "coverage.json"
    path.write_text(json.dumps({"meta": 5, "totals": {"num_statements": 4, "covered_lines": 2}}))
    assert values(coverage_collector.collect(path))["coverage.line_percent"] == 50.0


def test_cobertura_conditions_covering_more_than_their_branches_are_not_measured(tmp_path):
    path = tmp_path / "coverage.xml"
    path.write_text(
        '<coverage><packages><package><classes><class filename="a.py"><lines>'
        '<line number="1" hits="1" branch="true" condition-coverage="120% (12/10)"/>'
        "</lines></class></classes></package></packages></coverage>"
    )
    readings = coverage_collector.collect(path)
    assert values(readings) == dict.fromkeys(coverage_collector.KEYS)
    assert reasons(readings) == {"condition-coverage covers more than its branches: '120% (12/10)'"}


def data_file(folder: Path, lines: dict[str, list[int]]) -> Path:
    data = coverage.CoverageData(basename=str(folder / ".coverage"))
    data.add_lines(lines)
    data.write()
    return folder / ".coverage"


@pytest.fixture
def repo(tmp_path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "mod.py").write_text("x = 1\ny = 2\n")
    return root


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("/etc/passwd", "source outside the repository root"),
        ("/dev/zero", "source outside the repository root"),
        ("fifo.py", "is not a regular file"),
        ("escape.py", "source outside the repository root"),
        ("missing.py", "No source for code:"),
    ],
)
def test_a_local_data_file_reads_only_regular_sources_inside_the_root(repo, source, reason):
    os.mkfifo(repo / "fifo.py")
    (repo / "escape.py").symlink_to("/etc/passwd")
    path = data_file(repo, {str(repo / "mod.py"): [1, 2], source: [1]})
    readings = coverage_collector.collect(path, root=repo)
    assert values(readings) == dict.fromkeys(coverage_collector.KEYS)
    (got,) = reasons(readings)
    assert reason in got
    assert "root:" not in got


def test_a_local_data_file_inside_the_root_is_measured_from_its_sources(repo):
    path = data_file(repo, {str(repo / "mod.py"): [1]})
    got = values(coverage_collector.collect(path, root=repo))
    assert (got["coverage.statements"], got["coverage.covered"]) == (2, 1)


def test_a_data_file_read_without_sources_gives_what_it_holds(repo):
    path = data_file(repo, {str(repo / "mod.py"): [1, 2], "/etc/passwd": [1, 5, 9]})
    readings = coverage_collector.collect_without_sources(path, root=repo)
    assert values(readings) == dict.fromkeys(coverage_collector.KEYS)
    assert readings[0].detail == {"executed_lines": 5, "files": 2, "branch_data": False}
    assert "Cobertura report (`coverage xml`)" in readings[0].reason


def test_a_data_file_with_branches_counts_executed_lines_like_coverage_py(tmp_path):
    data = coverage.CoverageData(basename=str(tmp_path / ".coverage"))
    arcs = [(-1, 1), (1, 2), (2, 4), (4, -1)]
    data.add_arcs({"/x.py": arcs})
    data.write()
    contents = coverage_collector.data_file_contents((tmp_path / ".coverage").read_bytes())
    assert contents.executed_lines == len(data.lines("/x.py") or []) == 3
    assert contents.branch_data


def test_a_database_with_a_view_that_never_ends_is_refused(tmp_path):
    import sqlite3

    path = data_file(tmp_path, {"/x.py": [1]})
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE arc")
        db.execute(
            "CREATE VIEW arc AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
            "SELECT 1 AS file_id, 1 AS context_id, i AS fromno, i AS tono FROM n"
        )
    with pytest.raises(ArtefactError, match="no table arc"):
        coverage_collector.data_file_contents(path.read_bytes())


@pytest.mark.parametrize("name", ["fifo", "/dev/zero", "dir"])
def test_read_regular_refuses_what_is_not_a_regular_file(tmp_path, name):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "dir").mkdir()
    with pytest.raises(ArtefactError, match="is not a regular file"):
        read_regular(tmp_path / name)


def test_read_regular_bounds_the_size(tmp_path):
    (tmp_path / "big").write_bytes(b"x" * 11)
    assert read_regular(tmp_path / "big", limit=11) == b"x" * 11
    with pytest.raises(ArtefactError, match="is larger than 10 bytes"):
        read_regular(tmp_path / "big", limit=10)
