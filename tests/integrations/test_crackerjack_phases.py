"""Per-phase statistics and recommendations from stored crackerjack runs."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command
from statsmodels.stats.proportion import proportion_confint

from integrations.crackerjack.phases import phase_report
from tests.fixtures import CRACKERJACK

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 27, tzinfo=UTC)


@pytest.fixture
def report(project) -> dict:
    call_command(
        "import_crackerjack", str(CRACKERJACK / "project"), "--project", "alpha", stdout=StringIO()
    )
    return phase_report(project, days=30, now=NOW)


def test_per_phase_figures(report):
    phases = {p["phase"]: p for p in report["phases"]}
    assert list(phases) == ["fast_hooks", "comprehensive_hooks", "tests"]
    fast = phases["fast_hooks"]
    # run 1 failed (4.8 s), run 2 passed (3.9 s)
    assert (fast["runs"], fast["n"], fast["rate"]) == (2, 2, 0.5)
    assert (fast["rate_low"], fast["rate_high"]) == pytest.approx(
        proportion_confint(1, 2, method="wilson")
    )
    assert fast["duration_p50_s"] == pytest.approx(4.35)
    assert fast["workflow_phase"] == "setup"
    hooks = {h["hook"]: h for h in fast["hooks"]}
    check = hooks["ruff-check"]
    assert (check["n"], check["rate"], check["issues"]) == (2, 0.5, 3)
    assert hooks["ruff-format"]["rate_smoothed"] == pytest.approx(3 / 4)
    skipped = {h["hook"]: h for h in phases["comprehensive_hooks"]["hooks"]}["skylos"]
    assert (skipped["n"], skipped["rate"]) == (0, None)


def test_recommendations_from_the_stored_runs(report):
    found = [(r["phase"], r["severity"], r["message"]) for r in report["recommendations"]]
    assert ("fast_hooks", "high", "fast_hooks passed in 50% of 2 runs.") in found
    assert ("comprehensive_hooks", "high", "comprehensive_hooks passed in 0% of 1 runs.") in found
    budget = [m for p, s, m in found if p == "comprehensive_hooks" and "budget" in m]
    assert budget == [
        "comprehensive_hooks takes 38.8 s (median of 1), over crackerjack's budget of about 30 s."
    ]
    assert not [m for p, s, m in found if p == "fast_hooks" and "budget" in m]  # 4.35 s < 5 s
    fix_first = sorted(
        r["basis"]["hook"] for r in report["recommendations"] if "fix it first" in r["message"]
    )
    assert fix_first == ["bandit", "complexipy", "ruff-check"]
    recommended = [
        r
        for r in report["recommendations"]
        if r["severity"] == "info" and r["phase"] == "fast_hooks"
    ]
    # smoothed: ruff-format 3/4, codespell 2/3, ruff-check 2/4
    assert [s for s, _ in recommended[0]["basis"]["skills"]] == [
        "ruff-format",
        "codespell",
        "ruff-check",
    ]


def test_no_runs_no_phases(project):
    report = phase_report(project, days=30, now=NOW)
    assert report["phases"] == [] and report["recommendations"] == [] and report["runs"] == 0
