"""Demo checkpoints are scored by the one definition in `quality/`, never by the demo itself."""

from __future__ import annotations

from datetime import UTC, datetime

from demo import seed as demo
from quality import debt, gates, score
from quality.recommendations import recommend
from quality.vocabulary import KEYS
from tracking.checkpoints import observations_of, session_baseline
from tracking.models import Checkpoint, Measurement

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
# Measurements that tracking.checkpoints derives from the demo's own (not made up by the demo).
DERIVED = {"tests.created": "cairn", "session.context_tokens": "transcript"}


def measurements(checkpoint: Checkpoint) -> dict[str, float | None]:
    return {m.key: m.value for m in checkpoint.measurements.all()}


def test_it_stores_what_quality_computes_from_each_checkpoints_measurements(db):
    demo.seed_demo(days=3, now=NOW)
    checkpoints = Checkpoint.objects.select_related("project", "session").order_by("pk")
    assert checkpoints.count() > 50
    for c in checkpoints:
        observations = observations_of(c)
        baseline = session_baseline(c.session).checkpoint if c.session else None
        base = observations_of(baseline) if baseline else None
        result = score.compute(observations)
        verdict, conditions = gates.evaluate(
            gates.validate(c.project.gate_config),
            observations,
            base,
            in_session=c.session_id is not None,
        )
        owed = debt.compute(observations)
        assert (c.score_total, c.points_measured, c.stars, c.label) == (
            result.total,
            result.points_measured,
            score.stars(result.total),
            score.label(result.total),
        )
        assert [c.score_code_quality, c.score_project_health, c.score_dev_velocity] == [
            result.part(name)[0] for name in ("code_quality", "project_health", "dev_velocity")
        ]
        assert c.score_security == result.part("security")[0]
        assert (c.gate_verdict, c.gate_results) == (verdict, [r.as_dict() for r in conditions])
        assert (c.debt_level, c.debt_minutes) == (owed.level, owed.minutes)
        assert c.recommendations == [r.as_dict() for r in recommend(observations, base)]


def test_it_scores_a_demo_ci_checkpoint_by_the_documented_rules(db):
    demo.seed_demo(days=2, now=NOW)
    ci = Checkpoint.objects.filter(project__slug="demo-payments-api").earliest("created_at", "pk")
    assert (ci.kind, ci.created_at, ci.session) == (
        "ci",
        datetime(2026, 11, 24, 2, tzinfo=UTC),
        None,
    )
    m = measurements(ci)
    assert [m["coverage.line_percent"], m["types.annotation_percent"], m["complexity.mean"]] == [
        75.97,
        78.74,
        2.3,
    ]
    assert [m[f"lint.findings.{s}"] for s in ("high", "medium", "low")] == [0, 2, 2]
    assert [m[f"security.findings.{s}"] for s in ("high", "medium", "low")] == [0, 0, 3]
    assert m["git.lockfile_age_days"] == 50.6
    # Code quality: 15 × 0.7597 + 10 × (100 − 4·2 − 2)/100 + 10 × 0.7874 + 5 = 33.2695.
    assert ci.score_code_quality == 33.27
    # Health: everything full but the 50.6-day-old lockfile (60 % of 5): 28. Velocity full: 20.
    assert (ci.score_project_health, ci.score_dev_velocity) == (28.0, 20.0)
    # Security: scanner 5 × 0.97 + hygiene 5.
    assert ci.score_security == 9.85
    assert (ci.score_total, ci.stars, ci.label) == (91.1, 5, "Excellent")
    # One failing test fails the gate; a CI checkpoint has no session start for coverage.
    statuses = {g["metric"]: g["status"] for g in ci.gate_results}
    assert m["tests.failed"] == 1
    assert statuses["tests.failed"] == "failed"
    assert statuses["coverage.line_percent"] == "not measured"
    assert ci.gate_verdict == "failed"


def test_it_rounds_a_demo_score_of_90_up_to_five_stars(db):
    # Python's round(4.5) is 4; Cairn rounds halves up (quality.score.stars).
    demo.seed_demo(days=7, now=NOW)
    at = datetime(2026, 11, 20, 12, 8, tzinfo=UTC)
    start = Checkpoint.objects.get(project__slug="demo-payments-api", created_at=at)
    assert (start.kind, start.score_total, start.stars) == ("start", 90.0, 5)


def test_it_makes_only_vocabulary_measurements_sourced_as_demo_data(db):
    demo.seed_demo(days=2, now=NOW)
    rows = Measurement.objects.all()
    assert {m.key for m in rows} <= set(KEYS)
    for m in rows:
        assert m.unit == KEYS[m.key].unit, m.key
        assert m.tool == DERIVED.get(m.key, demo.DEMO_TOOL), m.key
        if m.tool == demo.DEMO_TOOL:
            assert m.artefact.startswith("generated sample of "), m.key
        assert (m.value is None) == bool(m.reason), m.key
    not_measured = set(rows.filter(value__isnull=True).values_list("key", flat=True))
    assert {"coverage.line_percent", "types.errors", "git.lockfile_age_days"} <= not_measured


def test_it_leaves_unmeasured_parts_out_of_the_score(db):
    demo.seed_demo(days=2, now=NOW)
    checkpoints = Checkpoint.objects.filter(project__slug="demo-docs-site")
    # docs-site has no coverage report: 15 of the 100 points are not measured, never 0.
    assert set(checkpoints.values_list("points_measured", flat=True)) == {85.0}
    for c in checkpoints:
        assert "coverage-unknown" in {r["rule"] for r in c.recommendations}
