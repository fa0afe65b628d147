"""Each unit's metrics from what it did at or after its first exposure; a unit without data is
counted in units_without_data and left out of n, never taken as 0."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from analytics.experiments.metrics import unit_metrics
from analytics.experiments.results import experiment_results
from analytics.models import Experiment, Exposure
from tracking.ingest import InvocationEvent, record_invocations
from tracking.models import Checkpoint, Measurement, Session

pytestmark = pytest.mark.django_db
T = datetime(2026, 11, 20, 10, tzinfo=UTC)
MIN = timedelta(minutes=1)


def experiment(project, unit: str = "session") -> Experiment:
    found = Experiment.objects.create(
        project=project,
        key=f"exp-{unit}",
        name="Metrics",
        unit=unit,
        arms=[{"key": "control", "weight": 0.5}, {"key": "treatment", "weight": 0.5}],
        metrics=["completion_rate", "tool_duration", "quality_score_change", "tests_created"],
        guardrail_metrics=["tokens", "cost_usd", "gate_failed_checkpoints"],
    )
    found.start(T)
    return found


def exposed(exp: Experiment, **arms: str) -> None:
    Exposure.objects.bulk_create(
        Exposure(experiment=exp, unit_id=unit, arm=arm, first_exposed_at=T)
        for unit, arm in arms.items()
    )


def call(project, key: str, session: str, when: datetime, completed, duration=None):
    return InvocationEvent(
        key=key,
        session=session,
        skill="pytest",
        invoked_at=when,
        completed=completed,
        duration_s=duration,
    )


def checkpoint(session: Session, kind: str, when, score, tests, verdict: str = "") -> None:
    made = Checkpoint.objects.create(
        project=session.project,
        session=session,
        kind=kind,
        score_total=score,
        gate_verdict=verdict,
        created_at=when,
    )
    Measurement.objects.create(checkpoint=made, key="tests.total", value=tests)


def test_a_sessions_metrics_count_only_what_came_after_its_exposure(project):
    exp = experiment(project)
    exposed(exp, s1="control", s2="control", s3="treatment", s4="treatment")
    main = Session.objects.create(
        project=project, external_id="s1", started_at=T, input_tokens=100, output_tokens=50,
        cost_usd=Decimal("0.5"),
    )  # fmt: skip
    Session.objects.create(
        project=project, external_id="s1:agent-x", parent=main, started_at=T + MIN,
        input_tokens=10,
    )  # fmt: skip
    Session.objects.create(project=project, external_id="s2", started_at=T)
    Session.objects.create(project=project, external_id="s4", started_at=T - 2 * MIN)
    record_invocations(
        project,
        [
            call(project, "a", "s1", T, True, 2.0),
            call(project, "b", "s1", T + MIN, True, 4.0),
            call(project, "c", "s1", T + 2 * MIN, False),
            call(project, "d", "s1", T + 3 * MIN, None),
            call(project, "e", "s1", T - MIN, False, 100.0),  # before the exposure
            call(project, "f", "s1:agent-x", T + 4 * MIN, True, 6.0),
            call(project, "g", "s4", T - MIN, True, 1.0),  # before the exposure
        ],
        source="api",
    )
    checkpoint(main, "start", T - MIN, 10.0, 1.0)  # before the exposure: not the start
    checkpoint(main, "start", T + MIN, 60.0, 10.0)
    checkpoint(main, "manual", T + 2 * MIN, 65.0, 12.0, verdict="failed")
    checkpoint(main, "end", T + 9 * MIN, 72.5, 15.0, verdict="passed")

    values = unit_metrics(exp)
    assert values["completion_rate"] == {"s1": (3.0, 4.0)}
    assert values["tool_duration"] == {"s1": (4.0, 1.0)}
    assert values["tokens"] == {"s1": (160.0, 1.0)}
    assert values["cost_usd"] == {"s1": (0.5, 1.0)}
    assert values["quality_score_change"] == {"s1": (12.5, 1.0)}
    assert values["tests_created"] == {"s1": (5.0, 1.0)}
    assert values["gate_failed_checkpoints"] == {"s1": (1.0, 1.0)}

    results = experiment_results(exp, now=T + timedelta(hours=1))
    rate = next(m for m in results["metrics"] if m["metric"] == "completion_rate")
    control, treatment = rate["arms"]
    assert (control["units"], control["n"], control["units_without_data"]) == (2, 1, 1)
    assert (control["numerator"], control["denominator"], control["mean"]) == (3, 4, 0.75)
    assert (treatment["units"], treatment["n"], treatment["units_without_data"]) == (2, 0, 2)
    assert treatment["mean"] is None and treatment["ci_low"] is None
    comparison = rate["comparisons"][0]
    assert comparison["p_value"] is None and comparison["decision"] == "insufficient_data"
    assert results["decision"] == "insufficient_data"


def test_a_users_sessions_are_those_started_at_or_after_the_exposure(project):
    exp = experiment(project, unit="user")
    exposed(exp, ann="treatment")
    Session.objects.create(
        project=project, external_id="old", user_name="ann", started_at=T - MIN, input_tokens=7
    )
    Session.objects.create(
        project=project, external_id="new", user_name="ann", started_at=T, input_tokens=40
    )
    Session.objects.create(
        project=project, external_id="bob", user_name="bob", started_at=T, input_tokens=5
    )
    record_invocations(
        project,
        [
            call(project, "a", "new", T + MIN, True, 3.0),
            call(project, "b", "new", T + MIN, False),
            call(project, "c", "bob", T + MIN, False),
        ],
        source="api",
    )
    values = unit_metrics(exp)
    assert values["completion_rate"] == {"ann": (1.0, 2.0)}
    assert values["tokens"] == {"ann": (40.0, 1.0)}
    assert values["cost_usd"] == {}  # no session with a known cost: not measured, not $0
    assert values["quality_score_change"] == {}
