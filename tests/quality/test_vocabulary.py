"""The key vocabulary and its documentation agree, and every collector keeps to it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from quality.collectors.base import Source, measured
from quality.vocabulary import KEYS

DOC = Path(__file__).resolve().parents[2] / "docs" / "measurements.md"


def test_it_documents_every_key_with_its_unit():
    rows = dict(re.findall(r"^\| `([a-z_.0-9]+)` \| ([\w%/]+) \|", DOC.read_text(), re.M))
    assert rows == {key: k.unit for key, k in KEYS.items()}


def test_it_keeps_the_keys_the_issue_promises():
    promised = [
        "coverage.line_percent",
        "coverage.branch_percent",
        "tests.total",
        "tests.passed",
        "tests.failed",
        "tests.errors",
        "tests.skipped",
        "tests.duration_s",
        "lint.findings",
        "types.errors",
        "complexity.max",
        "complexity.mean",
        "security.findings.high",
        "git.commits_since_start",
        "git.lines_added",
        "git.lines_removed",
        "git.files_created",
        "git.dirty",
        "fs.project_bytes",
        "fs.cleanup_candidates",
    ]
    assert set(promised) <= set(KEYS)


def test_it_refuses_a_key_outside_the_vocabulary():
    with pytest.raises(KeyError):
        measured("coverage.percent", 1, Source(tool="x"))
