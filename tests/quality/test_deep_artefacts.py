"""Tool artefacts nested about 1,000 deep: "not measured" with the reason, never a
RecursionError (a 500 at `POST /api/v1/checkpoints`)."""

from __future__ import annotations

import pytest

from quality.collectors.base import ArtefactError
from quality.collectors.coverage import coverage_json_totals
from quality.collectors.tools import collect_bandit, collect_mypy, collect_ruff

DEEP = b"[" * 1_000 + b"]" * 1_000


@pytest.mark.parametrize("collect", [collect_ruff, collect_bandit, collect_mypy])
def test_a_tool_artefact_nested_1000_deep_is_not_measured(tmp_path, collect):
    artefact = tmp_path / "report.json"
    artefact.write_bytes(DEEP)
    readings = collect(tmp_path, artefact=artefact)
    assert readings and all(r.value is None for r in readings)
    assert all("nested more than 64 levels deep" in r.reason for r in readings)


def test_a_coverage_json_nested_1000_deep_is_refused():
    with pytest.raises(ArtefactError, match="'coverage JSON' is nested more than 64 levels deep"):
        coverage_json_totals(b'{"totals": ' + DEEP + b"}")
