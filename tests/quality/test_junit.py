"""The JUnit reader against real reports and their expected figures, and against bad input."""

from __future__ import annotations

import json
import shutil

import pytest

from quality.collectors import junit
from tests.fixtures import DATA

EXPECTED = json.loads((DATA / "expected.json").read_text())["junit"]
GOOD = sorted(k for k, v in EXPECTED.items() if "parse_error" not in v)
BROKEN = sorted(k for k, v in EXPECTED.items() if "parse_error" in v)


def values(readings) -> dict:
    return {r.key: r.value for r in readings}


@pytest.mark.parametrize("name", GOOD)
def test_it_counts_testcases_by_their_worst_result(name):
    expected = EXPECTED[name]
    readings = junit.collect(DATA / name)
    got = values(readings)
    outcomes = expected["outcomes_from_testcases"]
    assert got["tests.total"] == expected["testcases"]
    assert got["tests.passed"] == outcomes.get("passed", 0)
    assert got["tests.failed"] == outcomes.get("failure", 0)
    assert got["tests.errors"] == outcomes.get("error", 0)
    assert got["tests.skipped"] == outcomes.get("skipped", 0)
    assert round(got["tests.duration_s"], 3) == expected["sum_testcase_time_s"]
    ids = readings[0].detail["ids"]
    assert len(ids) == expected["unique_classname_name"]
    assert readings[0].source.artefact.endswith(name)


@pytest.mark.parametrize("name", BROKEN)
def test_it_reports_broken_files_as_not_measured_with_the_parse_error(name):
    readings = junit.collect(DATA / name)
    assert {r.key for r in readings} == set(junit.KEYS)
    assert all(r.value is None for r in readings)
    assert {r.reason for r in readings} == {EXPECTED[name]["parse_error"]}


def test_it_counts_a_valid_report_without_testcases_as_zero_tests(tmp_path):
    path = tmp_path / "report.xml"
    path.write_text('<testsuites><testsuite name="pytest" tests="0"/></testsuites>')
    got = values(junit.collect(path))
    assert got["tests.total"] == 0
    assert got["tests.failed"] == 0


def test_it_walks_nested_suites_and_takes_the_worst_of_several_results(tmp_path):
    path = tmp_path / "nested.xml"
    path.write_text(
        """<testsuites><testsuite name="outer"><testsuite name="inner">
        <testcase classname="a.B" name="t1" time="0.5"><failure/><error/></testcase>
        <testcase classname="a.B" name="t2" time="0.25"><skipped/><failure/></testcase>
        <testcase classname="a.B" name="t3"><skipped/></testcase>
        </testsuite><testcase name="loose" time="1"/></testsuite></testsuites>"""
    )
    readings = junit.collect(path)
    got = values(readings)
    assert (got["tests.errors"], got["tests.failed"], got["tests.skipped"]) == (1, 1, 1)
    assert got["tests.passed"] == 1
    assert got["tests.duration_s"] == 1.75
    assert readings[0].detail["ids"] == ["a.B::t1", "a.B::t2", "a.B::t3", "loose"]
    assert readings[0].detail["suites"] == 2


def test_it_refuses_an_entity_bomb(tmp_path):
    path = tmp_path / "bomb.xml"
    path.write_text(
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        "<testsuites>&lol2;</testsuites>"
    )
    readings = junit.collect(path)
    assert readings[0].value is None
    assert readings[0].reason.startswith("EntitiesForbidden")


def test_it_says_why_unsafe_xml_was_refused_without_a_python_repr(tmp_path):
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<!DOCTYPE t [<!ENTITY a "a">]><testsuites>&a;</testsuites>')
    reason = junit.collect(bomb)[0].reason
    assert reason == "EntitiesForbidden: the XML holds entity declarations, refused"


def test_it_reports_a_truncated_copy_and_a_wrong_format(tmp_path):
    truncated = tmp_path / "truncated.xml"
    shutil.copy(DATA / "junit/pytest/junit.fail.xml", truncated)
    truncated.write_bytes(truncated.read_bytes()[:700])
    assert junit.collect(truncated)[0].reason.startswith("ParseError: ")
    cobertura = DATA / "coverage/coveragepy-gold-x_xml.coverage.xml"
    assert junit.collect(cobertura)[0].reason == "not a JUnit report: root element is <coverage>"
    assert junit.collect(tmp_path / "missing.xml")[0].reason.startswith("cannot read")
