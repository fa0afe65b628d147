"""Skill dependencies: REC-3 and REC-4, scipy/statsmodels cross-checks, the stored pass, the API."""

from __future__ import annotations

import time
from datetime import timedelta
from types import SimpleNamespace

import numpy as np
import pytest
from django.template.loader import render_to_string
from scipy import stats
from statsmodels.stats.multitest import multipletests

from analytics.dependencies import pairs_of, refresh_dependencies, related_skills
from analytics.models import DependencyPass
from lib import budget
from tests.analytics.conftest import at, events

AT = at("2026-11-25T10:00:00")
REC4 = [
    {"ruff-check", "pytest-run", "git-commit"},
    {"ruff-check", "pytest-run"},
    {"pytest-run", "git-commit", "git-push"},
    {"ruff-check", "mypy-check"},
    {"ruff-check", "pytest-run", "git-commit", "git-push"},
    {"Edit", "pytest-run"},
    {"Edit", "Bash"},
    {"ruff-check", "pytest-run", "mypy-check"},
    {"git-commit", "git-push"},
    {"Edit", "ruff-check", "pytest-run"},
]


def by_names(pairs):
    return {(p.skill_a, p.skill_b): p for p in pairs}


def test_rec3_lift_confidence_conviction_and_the_one_sided_fisher_p():
    sessions = [{"A", "B"}] * 60 + [{"A"}] * 140 + [{"B"}] * 90 + [{"C"}] * 710
    n, pairs = pairs_of(sessions)
    assert n == 1000 and len(pairs) == 1
    p = pairs[0]
    assert (p.count_a, p.count_b, p.count_ab) == (200, 150, 60)
    assert p.support == pytest.approx(0.06)
    assert (p.confidence_ab, p.confidence_ba) == pytest.approx((0.30, 0.40))
    assert p.lift == pytest.approx(2.0)
    assert p.leverage == pytest.approx(0.03)
    assert p.conviction_ab == pytest.approx(1.214286, abs=1e-6)
    assert p.p_value == pytest.approx(5.15377e-10, rel=1e-5)
    odds, fisher_p = stats.fisher_exact([[60, 140], [90, 710]], alternative="greater")
    assert p.p_value == pytest.approx(fisher_p, rel=1e-9)
    assert odds == pytest.approx(3.380952, abs=1e-6)
    assert p.q_value == p.p_value  # a family of one
    assert p.band == "moderate"  # lift 2.0 is not above 2
    # The reference's co/(count_A·count_B) would have said 0.002.
    assert p.lift != pytest.approx(60 / (200 * 150))


def test_rec4_mlxtend_rules_for_the_pairs():
    n, pairs = pairs_of(REC4, min_sessions=1, min_count=1)
    assert n == 10
    found = by_names(pairs)
    commit_push = found["git-commit", "git-push"]
    assert (commit_push.support, commit_push.confidence_ab) == pytest.approx((0.3, 0.75))
    assert commit_push.lift == pytest.approx(2.5)
    assert commit_push.leverage == pytest.approx(0.18)
    assert commit_push.conviction_ab == pytest.approx(2.8)
    assert commit_push.jaccard == pytest.approx(0.75)
    assert commit_push.confidence_ba == 1.0 and commit_push.conviction_ba is None  # infinite
    ruff_pytest = found["pytest-run", "ruff-check"]  # stored alphabetically: ruff→pytest is b→a
    assert ruff_pytest.support == pytest.approx(0.5)
    assert ruff_pytest.confidence_ba == pytest.approx(0.833333, abs=1e-6)
    assert ruff_pytest.lift == pytest.approx(1.190476, abs=1e-6)
    assert ruff_pytest.leverage == pytest.approx(0.08)
    assert ruff_pytest.conviction_ba == pytest.approx(1.8)
    assert ruff_pytest.jaccard == pytest.approx(0.625)
    mypy_ruff = found["mypy-check", "ruff-check"]
    assert mypy_ruff.confidence_ab == 1.0 and mypy_ruff.lift == pytest.approx(1.666667, abs=1e-6)
    # Ten sessions are below the minimum of 50: nothing is reported with the defaults.
    assert pairs_of(REC4) == (10, [])


def test_every_p_and_q_is_scipys_fisher_and_statsmodels_bh():
    rng = np.random.default_rng(5)
    skills = [f"s{i}" for i in range(8)]
    weights = np.linspace(0.1, 0.6, 8)
    sessions = []
    for _ in range(400):
        chosen = {s for s, w in zip(skills, weights, strict=True) if rng.random() < w}
        if "s1" in chosen and rng.random() < 0.7:
            chosen.add("s2")  # a real association
        sessions.append(chosen or {"s0"})
    n, pairs = pairs_of(sessions)
    assert n == 400 and len(pairs) > 10
    for p in pairs:
        n_a = sum(p.skill_a in s for s in sessions)
        n_ab = sum({p.skill_a, p.skill_b} <= s for s in sessions)
        n_b = sum(p.skill_b in s for s in sessions)
        assert (p.count_a, p.count_b, p.count_ab) == (n_a, n_b, n_ab)
        table = [[n_ab, n_a - n_ab], [n_b - n_ab, n - n_a - n_b + n_ab]]
        assert p.p_value == pytest.approx(stats.fisher_exact(table, "greater")[1], rel=1e-9)
        assert p.jaccard == pytest.approx(
            n_ab / sum(bool({p.skill_a, p.skill_b} & s) for s in sessions)
        )
        assert p.count_ab >= 5
    q = multipletests([p.p_value for p in pairs], method="fdr_bh")[1]
    assert [p.q_value for p in pairs] == pytest.approx(q.tolist(), rel=1e-9)
    assert all((p.band != "") == (p.q_value < 0.05) for p in pairs)
    assert by_names(pairs)["s1", "s2"].band != ""


def store_sessions(project) -> None:
    """60 sessions in the 90 days before AT, and 5 that started before them."""
    plan = [("pytest", "ruff")] * 20 + [("pytest",)] * 10 + [("ruff",)] * 10 + [("Bash",)] * 20
    for i, skills in enumerate(plan):
        start = AT - timedelta(days=80) + timedelta(hours=i)
        specs = [(s, start + timedelta(minutes=k), True, 1.0) for k, s in enumerate(skills)]
        events(project, *specs, session=f"in-{i}")
    for i in range(5):
        start = AT - timedelta(days=91)
        specs = [("pytest", start, True, 1.0), ("ruff", start + timedelta(days=2), True, 1.0)]
        events(project, *specs, session=f"old-{i}")


EXPECTED_P = stats.fisher_exact([[20, 10], [10, 20]], alternative="greater")[1]


def test_a_pass_past_its_deadline_leaves_its_projects_to_the_next_one(
    project, other_project, monkeypatch
):
    store_sessions(project)
    store_sessions(other_project)
    hour = AT + timedelta(minutes=30)
    assert refresh_dependencies(hour, deadline=time.monotonic() - 1) == (0, 2)
    assert not DependencyPass.objects.exists()
    # The budget's clock passes the deadline after the first project: the second is left.
    clock = iter([0.0, 2.0])
    monkeypatch.setattr(budget, "time", SimpleNamespace(monotonic=lambda: next(clock)))
    assert refresh_dependencies(hour, deadline=1.0) == (1, 1)
    monkeypatch.undo()
    assert DependencyPass.objects.get().project == project  # the first in id order
    assert refresh_dependencies(hour) == (1, 0)
    assert DependencyPass.objects.filter(project=other_project).exists()


def test_the_worker_stores_a_pass_that_related_skills_reads(project, other_project):
    store_sessions(project)
    store_sessions(other_project)
    assert refresh_dependencies(AT + timedelta(minutes=30)) == (2, 0)
    assert refresh_dependencies(AT + timedelta(minutes=45)) == (0, 0)  # this hour's pass is stored
    run = DependencyPass.objects.get(project=project)
    assert (run.window_start, run.window_end, run.n_sessions) == (AT - timedelta(days=90), AT, 60)
    found = related_skills(project, "ruff")
    assert found["origin"] == "stored" and found["n_sessions"] == 60
    (row,) = found["related"]
    assert row["skill"] == "pytest"
    assert (row["count_a"], row["count_b"], row["count_ab"]) == (30, 30, 20)
    assert row["lift"] == pytest.approx(20 * 60 / (30 * 30))
    assert row["p_value"] == pytest.approx(EXPECTED_P, rel=1e-9)
    assert row["q_value"] == row["p_value"] < 0.05  # the only pair of the pass
    assert row["band"] == "weak"  # lift 1.33: above 1, not above 1.5
    computed = related_skills(project, "ruff", at=AT + timedelta(minutes=30))
    assert computed["origin"] == "computed" and computed["related"] == found["related"]
    # A shorter window leaves out the sessions of 80 days ago: too few sessions.
    assert related_skills(project, "ruff", days=30)["related"] == []


def test_the_related_endpoint(project, read_key, other_project, client):
    store_sessions(project)
    refresh_dependencies(AT)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {read_key}"}
    answer = client.get("/api/v1/skills/pytest/related", {"project": "alpha"}, **auth)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["n_sessions"] == 60 and body["days"] == 90
    assert body["related"][0]["skill"] == "ruff" and body["related"][0]["count_ab"] == 20
    bad = client.get("/api/v1/skills/pytest/related", {"project": "alpha", "days": "0"}, **auth)
    assert bad.status_code == 400 and "days" in bad.json()["error"]["detail"]
    missing = client.get("/api/v1/skills/pytest/related", **auth)
    assert missing.status_code == 400 and "project" in missing.json()["error"]["detail"]
    hidden = client.get("/api/v1/skills/pytest/related", {"project": "beta"}, **auth)
    assert hidden.status_code == 404
    assert client.get("/api/v1/skills/pytest/related", {"project": "alpha"}).status_code == 401
    nul = client.get("/api/v1/skills/py%00test/related", {"project": "alpha"}, **auth)
    assert nul.status_code == 400 and "skill" in nul.json()["error"]["detail"]


def test_the_related_skills_fragment_renders_the_pairs(project):
    store_sessions(project)
    refresh_dependencies(AT)
    html = render_to_string(
        "analytics/_related_skills.html", {"related": related_skills(project, "pytest")}
    )
    assert "ruff" in html and "1.33" in html and "60 sessions" in html
    empty = render_to_string(
        "analytics/_related_skills.html", {"related": related_skills(project, "Bash")}
    )
    assert "No skill is used with Bash" in empty
