"""Hostile artefacts through `POST /api/v1/checkpoints`: the server opens no path an upload
names, and stores nothing non-finite or out of range (the GET of the checkpoint still works)."""

from __future__ import annotations

import io
import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager

import coverage
import pytest

from quality.collectors.base import Source, measured
from tracking.checkpoints import checkpoint_record
from tracking.models import Measurement

URL = "/api/v1/checkpoints"
STATEMENT_KEYS = (
    "coverage.statements",
    "coverage.covered",
    "coverage.missing",
    "coverage.line_percent",
    "coverage.branch_percent",
)


def upload(name: str, content: bytes) -> io.BytesIO:
    f = io.BytesIO(content)
    f.name = name
    return f


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail instead of hanging: a FIFO opened for reading blocks until a writer comes."""

    def expire(signum, frame):
        raise TimeoutError(f"no answer within {seconds} s: the server blocked on a path")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def hostile_data_file(tmp_path) -> bytes:
    """A real coverage.py data file naming /etc/passwd, a FIFO and /dev/zero as sources."""
    fifo = tmp_path / "source.py"
    os.mkfifo(fifo)
    data = coverage.CoverageData(basename=str(tmp_path / ".coverage"))
    data.add_lines({"/etc/passwd": [1, 2, 3], str(fifo): [1], "/dev/zero": [1, 2]})
    data.write()
    return (tmp_path / ".coverage").read_bytes()


def test_an_uploaded_data_file_opens_none_of_the_paths_it_names(write_api, hostile_data_file):
    started = time.monotonic()
    with deadline(20):
        response = write_api.post(URL, {"coverage": upload(".coverage", hostile_data_file)})
    assert response.status_code == 201, response.content
    assert time.monotonic() - started < 20
    assert b"root:" not in response.content  # nothing of /etc/passwd
    measurements = response.json()["measurements"]
    for key in STATEMENT_KEYS:
        assert measurements[key]["value"] is None
        reason = measurements[key]["reason"]
        assert "executed lines only (6 lines in 3 files)" in reason
        assert "`coverage xml`" in reason and "`coverage json`" in reason
    stored = Measurement.objects.get(key="coverage.statements")
    assert (stored.value, stored.detail) == (
        None,
        {"executed_lines": 6, "files": 3, "branch_data": False},
    )
    assert stored.tool == "coverage.py (data file)"


@pytest.mark.parametrize("time_value", ["nan", "1e999", "inf", "-1"])
def test_a_junit_time_that_is_not_finite_is_not_measured_and_the_checkpoint_serves(
    write_api, read_api, time_value
):
    junit = f'<testsuite><testcase name="a" time="{time_value}"/></testsuite>'.encode()
    response = write_api.post(URL, {"junit": upload("junit.xml", junit)})
    assert response.status_code == 201, response.content
    duration = response.json()["measurements"]["tests.duration_s"]
    assert duration["value"] is None
    assert duration["reason"] == (f"testcase 'time' must be a finite number >= 0: {time_value!r}")
    detail = read_api.get(f"{URL}/{response.json()['checkpoint']}")
    assert detail.status_code == 200
    served = json.loads(detail.content, parse_constant=pytest.fail)["measurements"]
    assert {m["key"]: m["reason"] for m in served}["tests.duration_s"] == duration["reason"]


def test_a_coverage_json_covering_more_than_its_statements_is_not_measured(write_api):
    report = {"meta": {"version": "7.17.4"}, "totals": {"num_statements": 10, "covered_lines": 12}}
    response = write_api.post(
        URL, {"coverage": upload("coverage.json", json.dumps(report).encode())}
    )
    assert response.status_code == 201
    body = response.json()
    percent = body["measurements"]["coverage.line_percent"]
    assert (percent["value"], percent["reason"]) == (None, "covered_lines 12 > num_statements 10")
    assert body["score"] is None or body["score"] <= 100


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_a_non_finite_reading_is_stored_as_not_measured(project, read_api, value):
    source = Source(tool="a-reader")
    readings = [
        measured("tests.duration_s", value, source),
        measured("coverage.line_percent", 500.0, source),
        measured("tests.total", 3, source, ids=["a", "b", "c"], ratio=value),
    ]
    checkpoint = checkpoint_record(project=project, readings=readings)
    rows = {m.key: m for m in checkpoint.measurements.all()}
    assert rows["tests.duration_s"].value is None
    assert rows["tests.duration_s"].reason == f"the a-reader value is not a finite number ({value})"
    assert rows["coverage.line_percent"].value is None
    assert rows["coverage.line_percent"].reason == (
        "the a-reader value is a percentage outside 0..100 (500)"
    )
    assert rows["tests.total"].detail == {"ids": ["a", "b", "c"], "ratio": None}
    response = read_api.get(f"{URL}/{checkpoint.pk}")
    assert response.status_code == 200
    json.loads(response.content, parse_constant=pytest.fail)
