"""Fixtures for the Claude Code integration: the shared real transcripts and their figures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

DATA = Path("/work/shared/data")
TRANSCRIPTS = DATA / "transcripts"
EXPECTED = json.loads((DATA / "expected.json").read_text())["transcripts"]
MAIN = "transcripts/spotter/4d5611e5-241a-462a-8d15-5122611a9569.jsonl"


def data_path(relative: str) -> Path:
    return DATA / relative


@pytest.fixture
def transcripts_copy(tmp_path) -> Path:
    """The data set's transcripts in a temporary folder, free to change."""
    target = tmp_path / "projects"
    shutil.copytree(TRANSCRIPTS, target, ignore=shutil.ignore_patterns("LICENSE*"))
    return target
