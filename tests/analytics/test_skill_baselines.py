"""Per-skill baselines: percentiles (BL-1 and against numpy), the histogram's bucket error,
users, phases, the effectiveness rank (against scipy) and the cross-project baseline."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
from django.apps import apps
from scipy.stats import percentileofscore
from statsmodels.stats.proportion import proportion_confint

from analytics.skills import effectiveness_percentiles, percentile_of_score
from lib import buckets
from lib.stats import percentile_linear
from tracking.ingest import InvocationEvent, record_invocations
from tracking.models import Session, SkillDurationBucket, SkillPhaseHour

BL1 = [3.2, 4.1, 5.0, 5.5, 7.9, 8.4, 12.0, 15.5, 30.2, 95.0]
URL = "/api/v1/projects/alpha/skills"
WINDOW = {"since": "2026-11-20T00:00:00Z", "until": "2026-11-21T00:00:00Z"}
START = datetime.fromisoformat("2026-11-20T10:00:00+00:00")


def test_bl1_percentiles_are_numpy_linear_exactly():
    counted = [(value, 1) for value in BL1]
    got = [percentile_linear(counted, q) for q in (50, 90, 95)]
    assert got == pytest.approx([8.15, 36.68, 65.84], abs=1e-9)
    # Not the nearest rank (7.9, 30.2, 95.0) nor the upper median sorted[n // 2] (8.4).
    assert got == pytest.approx(list(np.percentile(BL1, [50, 90, 95])), abs=1e-12)


def test_percentiles_of_counted_values_match_numpy_on_the_expanded_values():
    rng = np.random.default_rng(7)
    for size in (1, 2, 3, 10, 57, 400):
        values = rng.choice([0.5, 1.0, 2.5, 4.0, 9.0, 30.0, 120.0], size=size)
        distinct, counts = np.unique(values, return_counts=True)
        counted = list(zip(distinct.tolist(), counts.tolist(), strict=True))
        for q in (0, 1, 25, 50, 90, 95, 99, 100):
            assert percentile_linear(counted, q) == pytest.approx(np.percentile(values, q))
    assert percentile_linear([], 50) is None
    assert percentile_linear([(3.0, 0)], 50) is None


def test_every_duration_lies_in_its_bucket_and_within_the_error_of_its_midpoint():
    rng = np.random.default_rng(11)
    values = np.concatenate(
        [rng.lognormal(0, 4, 50_000), [buckets.LOWEST_S, 1.0, 1.08, buckets.RATIO**40 / 1000]]
    )
    for value in np.minimum(values, 7 * 24 * 3600.0).tolist():
        bucket = buckets.bucket_of(value)
        assert buckets.lower_edge(bucket) <= value < buckets.lower_edge(bucket + 1)
        if value >= buckets.LOWEST_S:
            # The bound is reached at a lower edge: allow for the rounding of the edge itself.
            error = abs(buckets.midpoint(bucket) - value)
            assert error <= buckets.MAX_RELATIVE_ERROR * value * (1 + 1e-12)
        else:
            assert abs(buckets.midpoint(bucket) - value) <= buckets.LOWEST_S / 2
    assert buckets.bucket_of(7 * 24 * 3600.0) < buckets.BUCKETS


def measured_bucket_error(values: np.ndarray) -> float:
    """Largest relative error of the histogram's p50/p90/p95 against numpy's on `values`."""
    counts: dict[int, int] = {}
    for value in values.tolist():
        bucket = buckets.bucket_of(value)
        counts[bucket] = counts.get(bucket, 0) + 1
    counted = [(buckets.midpoint(b), n) for b, n in counts.items()]
    worst = 0.0
    for q in (50, 90, 95):
        exact = float(np.percentile(values, q))
        estimate = percentile_linear(counted, q)
        assert estimate is not None
        worst = max(worst, abs(estimate - exact) / exact)
    return worst


def test_the_histograms_percentiles_stay_within_the_documented_bucket_error():
    # Real-looking tool durations: log-normal around a few seconds with a long tail, and a
    # bimodal skill (fast cache hits, slow full runs), over windows from 10 to 100,000 calls.
    rng = np.random.default_rng(2026)
    worst = 0.0
    for size in (10, 100, 1_000, 100_000):
        for values in (
            rng.lognormal(np.log(5), 1.5, size),
            np.concatenate([rng.lognormal(np.log(0.2), 0.3, size), rng.lognormal(4, 0.5, size)]),
            np.array(BL1),
        ):
            worst = max(worst, measured_bucket_error(np.clip(values, 0.001, 604_800)))
    assert worst <= buckets.MAX_RELATIVE_ERROR < 0.05
    # The bound is not slack: real data comes within a factor of two of it.
    assert worst > buckets.MAX_RELATIVE_ERROR / 2


def test_effectiveness_percentiles_match_scipy_on_the_wilson_lower_bound():
    decided = {"a": (9, 10), "b": (9, 10), "c": (5, 10), "d": (2, 2), "e": (95, 100), "f": (0, 9)}
    ranks = effectiveness_percentiles(decided)
    # Fewer than 10 decided: not ranked, and not counted among the ranked.
    assert set(ranks) == {"a", "b", "c", "e"}
    bounds = {
        skill: proportion_confint(ok, n, method="wilson")[0]
        for skill, (ok, n) in decided.items()
        if n >= 10
    }
    for skill, bound in bounds.items():
        expected = percentileofscore(list(bounds.values()), bound, kind="weak")
        assert ranks[skill] == pytest.approx(expected)
    # Ties share the higher rank; the best reaches 100.
    assert ranks == pytest.approx({"a": 75.0, "b": 75.0, "c": 25.0, "e": 100.0})
    assert percentile_of_score([0.2], 0.2) == 100.0


def events(prefix, skill, outcomes, durations=None, *, session="s1", phase="", minutes=0):
    durations = durations or [None] * len(outcomes)
    return [
        InvocationEvent(
            key=f"{prefix}{i}",
            session=session,
            skill=skill,
            invoked_at=START + timedelta(minutes=minutes + i),
            completed=outcome,
            duration_s=duration,
            phase=phase,
        )
        for i, (outcome, duration) in enumerate(zip(outcomes, durations, strict=True))
    ]


@pytest.fixture
def baselines(project, other_project):
    """alpha: pytest with the BL-1 durations over three sessions of two users and a tie of
    phases broken alphabetically; ruff 2/2 (too few to rank); mypy 5/10; beta: pytest 10/10."""
    outcomes = [True] * 8 + [False, None]
    batch = (
        events("p", "pytest", outcomes[:4], BL1[:4], session="s1", phase="test")
        + events("q", "pytest", outcomes[4:7], BL1[4:7], session="s2", phase="lint", minutes=9)
        + events("r", "pytest", outcomes[7:], BL1[7:], session="s3", minutes=20)
        + events("l", "pytest", [None], session="s3", phase="lint", minutes=40)
        + events("t", "ruff", [True, True], [1.0, 1.0], session="s1")
        + events("m", "mypy", [True] * 5 + [False] * 5, session="s2")
        + events("n", "mypy", [None] * 2, session="s2", phase="typecheck", minutes=30)
    )
    record_invocations(project, batch, source="api")
    Session.objects.filter(project=project, external_id__in=["s1", "s2"]).update(user_name="ann")
    Session.objects.filter(project=project, external_id="s3").update(user_name="bob")
    record_invocations(other_project, events("b", "pytest", [True] * 10, [2.0] * 10), source="api")


def by_skill(response) -> dict[str, dict]:
    assert response.status_code == 200, response.content
    return {row["skill"]: row for row in response.json()["skills"]}


def test_it_reports_the_baseline_of_each_skill(owner_client, baselines):
    body = owner_client.get("/api/v1/skills", {**WINDOW, "project": "alpha"}).json()
    assert body["percentile_max_relative_error"] == pytest.approx(0.04)
    assert "histogram" in body["percentile_method"]
    assert "kind='weak'" in body["rank_method"]
    stats = by_skill(owner_client.get(URL, WINDOW))
    pytest_stats = stats["pytest"]
    assert {k: pytest_stats[k] for k in ("users", "sessions", "invocations", "decided")} == {
        "users": 2,
        "sessions": 3,
        "invocations": 11,
        "decided": 9,
    }
    assert pytest_stats["rate_smoothed"] == pytest.approx(9 / 11)
    low, high = proportion_confint(8, 9, method="wilson")
    assert (pytest_stats["rate_ci_low"], pytest_stats["rate_ci_high"]) == (
        pytest.approx(low),
        pytest.approx(high),
    )
    for name, exact in zip(("p50", "p90", "p95"), np.percentile(BL1, [50, 90, 95]), strict=True):
        got = pytest_stats[f"duration_{name}"]
        assert abs(got - exact) <= buckets.MAX_RELATIVE_ERROR * exact, name
    # "lint" and "test" have 4 invocations each: the tie goes to "lint".
    assert pytest_stats["most_common_phase"] == "lint"
    assert stats["mypy"]["most_common_phase"] == "typecheck"
    # No named phase at all: null, not "".
    assert stats["ruff"]["most_common_phase"] is None
    # Sessions without a user name are not users.
    assert stats["ruff"]["users"] == 1
    # Ranked among pytest (8/9: fewer than 10 decided) … only mypy has 10 decided.
    assert pytest_stats["effectiveness_percentile"] is None
    assert stats["ruff"]["effectiveness_percentile"] is None
    assert stats["mypy"]["effectiveness_percentile"] == 100.0
    assert stats["ruff"]["duration_p50"] == pytest.approx(1.0, rel=buckets.MAX_RELATIVE_ERROR)
    assert stats["mypy"]["duration_p50"] is None


def test_it_shows_the_skill_across_every_project_you_may_see(admin_client, owner_client, baselines):
    own = by_skill(admin_client.get("/api/v1/skills", {**WINDOW, "project": "alpha"}))
    wide = own["pytest"]["across_projects"]
    assert (own["pytest"]["invocations"], own["pytest"]["projects"]) == (11, 1)
    assert (wide["invocations"], wide["decided"], wide["completed"], wide["projects"]) == (
        21,
        19,
        18,
        2,
    )
    exact = np.percentile(BL1 + [2.0] * 10, [50, 90, 95])
    for name, value in zip(("p50", "p90", "p95"), exact, strict=True):
        assert abs(wide[f"duration_{name}"] - value) <= buckets.MAX_RELATIVE_ERROR * value
    # Over both projects pytest has 19 decided and is ranked, against mypy.
    assert wide["effectiveness_percentile"] == 100.0
    assert "across_projects" not in wide
    # The owner may not see beta: the baseline is alpha's own figures.
    mine = by_skill(owner_client.get(URL, WINDOW))["pytest"]["across_projects"]
    assert (mine["invocations"], mine["projects"]) == (11, 1)
    # Without a project, the figures already span every visible project.
    every = by_skill(admin_client.get("/api/v1/skills", WINDOW))["pytest"]
    assert (every["invocations"], every["across_projects"]) == (21, None)


def test_buckets_and_phases_add_up_across_batches_and_ignore_duplicates(project):
    first = events("x", "pytest", [True, True], [5.0, 50.0], phase="a")
    record_invocations(project, first, source="api")
    again = events("x", "pytest", [True], [5.0], phase="a") + events(
        "y", "pytest", [False], [5.0], phase="a", minutes=5
    )
    assert record_invocations(project, again, source="api").duplicates == 1
    rows = SkillDurationBucket.objects.filter(project=project)
    # Added to the stored counts (not overwritten), and the duplicate added nothing.
    assert sorted((r.bucket, r.count) for r in rows) == [
        (buckets.bucket_of(5.0), 2),
        (buckets.bucket_of(50.0), 1),
    ]
    phases = SkillPhaseHour.objects.filter(project=project)
    assert [(p.phase, p.count) for p in phases] == [("a", 3)]


def test_the_migration_backfills_the_rollups_from_stored_events(project, baselines):
    migration = __import__(
        "tracking.migrations.0003_skill_duration_buckets_and_phases", fromlist=["backfill"]
    )
    before_buckets = sorted(
        SkillDurationBucket.objects.values_list("skill", "hour", "bucket", "count")
    )
    before_phases = sorted(SkillPhaseHour.objects.values_list("skill", "hour", "phase", "count"))
    SkillDurationBucket.objects.all().delete()
    SkillPhaseHour.objects.all().delete()
    migration.backfill(apps, None)
    assert sorted(SkillDurationBucket.objects.values_list("skill", "hour", "bucket", "count")) == (
        before_buckets
    )
    assert sorted(SkillPhaseHour.objects.values_list("skill", "hour", "phase", "count")) == (
        before_phases
    )
