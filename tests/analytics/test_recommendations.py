"""Recommendations: REC-1, REC-2 and REC-5, item-item scoring, the fallback, similar users, API."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from analytics.models import UserSkillUse
from analytics.recommendations import (
    item_cosines,
    jaccard,
    popularity,
    recommendations,
    refresh_usage,
)
from tests.analytics.conftest import at, events
from tracking.models import Session

AT = at("2026-11-25T10:00:00")
REC2 = {
    "u1": {"pytest", "ruff", "mypy"},
    "u2": {"pytest", "ruff"},
    "u3": {"pytest", "bash"},
    "u4": {"ruff", "mypy", "edit"},
    "u5": {"pytest", "ruff", "edit"},
}


def test_rec1_jaccard_is_on_distinct_sets():
    rows = ["pytest"] * 5 + ["ruff"]
    assert jaccard({"pytest", "ruff", "mypy"}, set(rows)) == pytest.approx(0.666667, abs=1e-6)
    assert jaccard(set(), set()) == 0.0


def test_rec2_item_item_cosine_and_jaccard_over_users():
    skills, cosines, support = item_cosines(REC2)
    cos = {(a, b): cosines[i, j] for i, a in enumerate(skills) for j, b in enumerate(skills)}
    assert cos["pytest", "ruff"] == pytest.approx(0.75)
    assert cos["ruff", "mypy"] == pytest.approx(0.707107, abs=1e-6)
    assert cos["pytest", "mypy"] == pytest.approx(0.353553, abs=1e-6)
    assert cos["bash", "edit"] == 0
    assert dict(zip(skills, support.tolist(), strict=True))["pytest"] == 4
    users_of = {s: {u for u, done in REC2.items() if s in done} for s in skills}
    assert jaccard(users_of["pytest"], users_of["ruff"]) == pytest.approx(0.6)
    assert jaccard(users_of["ruff"], users_of["mypy"]) == pytest.approx(0.5)
    assert jaccard(users_of["pytest"], users_of["mypy"]) == pytest.approx(0.2)


def test_cosines_are_the_overlap_formula_on_random_users():
    rng = np.random.default_rng(8)
    users = {f"u{i}": {f"s{j}" for j in range(6) if rng.random() < 0.4} | {"s0"} for i in range(40)}
    skills, cosines, _ = item_cosines(users)
    for i, a in enumerate(skills):
        for j, b in enumerate(skills):
            ua = {u for u, done in users.items() if a in done}
            ub = {u for u, done in users.items() if b in done}
            assert cosines[i, j] == pytest.approx(len(ua & ub) / math.sqrt(len(ua) * len(ub)))


def test_rec5_popularity_ranks_by_the_wilson_lower_bound():
    counts = {"A": (2, 2), "B": (95, 100), "C": (209, 259), "D": (118, 143), "E": (40, 80)}
    ranked = popularity(counts)
    assert [skill for skill, _ in ranked] == ["B", "D", "C", "E", "A"]
    bounds = dict(ranked)
    assert bounds["C"] == pytest.approx(0.7545, abs=5e-5)
    assert bounds["D"] == pytest.approx(0.7546, abs=5e-5)
    assert bounds["A"] == pytest.approx(0.3424, abs=5e-5)
    assert bounds["E"] == pytest.approx(proportion_confint(40, 80, method="wilson")[0])


def use(project, user: str, *specs) -> None:
    """One session of `user` with (skill, completed) calls."""
    name = f"{user}-session"
    calls = [(s, AT - timedelta(days=3, minutes=-i), ok, 1.0) for i, (s, ok) in enumerate(specs)]
    events(project, *calls, session=name)
    Session.objects.filter(project=project, external_id=name).update(user_name=user)


def store_team(project) -> None:
    for i in range(6):
        use(project, f"u-{i}", ("pytest", True), ("ruff", True), ("mypy", True))
    for i in range(5):
        use(project, f"b-{i}", ("Bash", True))
    use(project, "zoe", ("pytest", True), ("ruff", False))


def test_an_untried_skill_is_scored_by_its_cosine_to_the_users_skills(project):
    store_team(project)
    found = recommendations(project, "zoe", at=AT)
    assert found["n"] == 12 and found["user_completed"] == ["pytest"]
    (row,) = found["recommendations"]  # ruff was tried (and failed): never recommended
    assert row["skill"] == "mypy" and row["source"] == "item_item_cosine"
    assert row["score"] == pytest.approx(6 / math.sqrt(7 * 6))
    assert row["because_of"] == [{"skill": "pytest", "cosine": pytest.approx(6 / math.sqrt(42))}]
    assert row["support_users"] == 6
    assert found["similar_users"] == []  # one skill in common, fewer than 3


def test_a_new_user_gets_the_popular_skills_by_wilson_lower_bound(project):
    store_team(project)
    found = recommendations(project, "newcomer", at=AT)
    assert not found["user_known"] and found["method"].startswith("Wilson")
    scores = {r["skill"]: r["score"] for r in found["recommendations"]}
    assert scores == pytest.approx(
        {
            "pytest": proportion_confint(7, 7, method="wilson")[0],
            "ruff": proportion_confint(6, 7, method="wilson")[0],
            "mypy": proportion_confint(6, 6, method="wilson")[0],
            "Bash": proportion_confint(5, 5, method="wilson")[0],
        }
    )
    assert [r["skill"] for r in found["recommendations"]] == ["pytest", "mypy", "Bash", "ruff"]


def test_similar_users_share_at_least_three_completed_skills(project):
    store_team(project)
    similar = recommendations(project, "u-0", at=AT)["similar_users"]
    assert [s["user"] for s in similar] == ["u-1", "u-2", "u-3", "u-4", "u-5"]
    assert all(s["jaccard"] == 1.0 and s["common_skills"] == 3 for s in similar)


def test_the_recommendations_endpoint(project, read_key, other_project, client):
    store_team(project)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {read_key}"}
    query = {"project": "alpha", "user": "zoe", "at": "2026-11-25T10:00:00Z"}
    answer = client.get("/api/v1/recommendations", query, **auth)
    assert answer.status_code == 200, answer.content
    assert answer.json()["recommendations"][0]["skill"] == "mypy"
    missing = client.get("/api/v1/recommendations", {"project": "alpha"}, **auth)
    assert missing.status_code == 400 and "user" in missing.json()["error"]["detail"]
    bad = client.get("/api/v1/recommendations", {**query, "limit": "0"}, **auth)
    assert bad.status_code == 400 and "limit" in bad.json()["error"]["detail"]
    hidden = client.get("/api/v1/recommendations", {**query, "project": "beta"}, **auth)
    assert hidden.status_code == 404


def test_the_worker_stores_the_matrix_that_recommendations_read(project, other_project):
    store_team(project)
    assert refresh_usage(AT + timedelta(minutes=20)) == (2, 0)
    assert refresh_usage(AT + timedelta(minutes=40)) == (0, 0)  # this hour's matrix is stored
    assert UserSkillUse.objects.filter(run__project=project).count() == 6 * 3 + 5 + 2
    stored = recommendations(project, "zoe")
    computed = recommendations(project, "zoe", at=AT)
    assert stored["origin"] == "stored" and computed["origin"] == "computed"
    assert (stored["window_start"], stored["window_end"]) == (AT - timedelta(days=90), AT)
    assert stored["recommendations"] == computed["recommendations"]
    assert stored["n"] == computed["n"] == 12
    assert recommendations(other_project, "zoe")["n"] == 0
