"""Tests from a JUnit XML report (pytest --junitxml and other producers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lib.ranges import check_duration
from quality.collectors.base import (
    ArtefactError,
    Reading,
    Source,
    display_path,
    local_name,
    measured,
    not_measured,
    parse_xml,
)

KEYS = (
    "tests.total",
    "tests.passed",
    "tests.failed",
    "tests.errors",
    "tests.skipped",
    "tests.duration_s",
)
# A testcase may hold several result elements (a failure and then an error in teardown): it
# counts once, by its worst.
SEVERITY = {"error": 3, "failure": 2, "skipped": 1}
OUTCOME = {3: "error", 2: "failure", 1: "skipped", 0: "passed"}


@dataclass
class JunitReport:
    outcomes: dict[str, int] = field(
        default_factory=lambda: {"passed": 0, "failure": 0, "error": 0, "skipped": 0}
    )
    duration_s: float = 0.0
    ids: list[str] = field(default_factory=list)
    suites: int = 0
    producer: str = ""

    @property
    def total(self) -> int:
        return sum(self.outcomes.values())


def read_junit(path: Path) -> JunitReport:
    """Count a JUnit report's test cases by their worst result."""
    root = parse_xml(path)
    if local_name(root.tag) not in ("testsuites", "testsuite"):
        raise ArtefactError(f"not a JUnit report: root element is <{local_name(root.tag)}>")
    report = JunitReport()
    ids: set[str] = set()
    for element in root.iter():
        tag = local_name(element.tag)
        if tag == "testsuite":
            report.suites += 1
            continue
        if tag != "testcase":
            continue
        worst = max((SEVERITY.get(local_name(child.tag), 0) for child in element), default=0)
        report.outcomes[OUTCOME[worst]] += 1
        report.duration_s += _time(element.get("time"))
        classname, name = element.get("classname", ""), element.get("name", "")
        ids.add(f"{classname}::{name}" if classname else name)
    report.ids = sorted(ids)
    report.producer = root.get("name", "") or next(
        (suite.get("name", "") for suite in root.iter() if local_name(suite.tag) == "testsuite"), ""
    )
    report.duration_s = round(report.duration_s, 6)
    return report


def _time(text: str | None) -> float:
    """A testcase's time in seconds; ArtefactError for one that is not a number in the
    duration range: `nan`, `1e999` or a negative time would poison the sum."""
    try:
        seconds = float(text or 0)
    except ValueError:
        raise ArtefactError(f"testcase time is not a number: {text!r}") from None
    try:
        return check_duration(seconds, "time")
    except ValueError as exc:
        raise ArtefactError(f"testcase {exc}: {text!r:.40}") from None


def collect(path: Path | str, *, root: Path | str | None = None) -> list[Reading]:
    """Readings for the `tests.*` keys from one JUnit file."""
    path = Path(path)
    source = Source(tool="JUnit XML", artefact=display_path(path, root))
    try:
        report = read_junit(path)
    except ArtefactError as exc:
        return not_measured(KEYS, source, str(exc))
    o = report.outcomes
    return [
        measured(
            "tests.total",
            report.total,
            source,
            ids=report.ids,
            suites=report.suites,
            producer=report.producer,
        ),
        measured("tests.passed", o["passed"], source),
        measured("tests.failed", o["failure"], source),
        measured("tests.errors", o["error"], source),
        measured("tests.skipped", o["skipped"], source),
        measured("tests.duration_s", report.duration_s, source),
    ]
