"""Decisions: Benjamini–Hochberg across the goal metrics (checked against statsmodels), the
guardrails left uncorrected, a guardrail that got worse makes the experiment a rollback, and an
experiment with nothing yet is insufficient_data on its page and in the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from statsmodels.stats.multitest import multipletests

from analytics.experiments.results import experiment_results, overall_decision
from analytics.models import Experiment, Exposure
from tracking.ingest import InvocationEvent, record_invocations
from tracking.models import Session

pytestmark = pytest.mark.django_db
T = datetime(2026, 11, 20, 10, tzinfo=UTC)
UNITS = 60


def designed(project) -> Experiment:
    experiment = Experiment.objects.create(
        project=project,
        key="rule",
        name="Rule",
        unit="session",
        arms=[{"key": "control", "weight": 0.5}, {"key": "treatment", "weight": 0.5}],
        metrics=["completion_rate", "tool_duration"],
        guardrail_metrics=["tokens"],
    )
    experiment.start(T)
    return experiment


def populate(project, experiment: Experiment) -> None:
    """Treatment: more calls completed, slightly faster, but twice the tokens."""
    units = [(f"{arm}{i}", arm, i) for arm in ("c", "t") for i in range(UNITS)]
    Exposure.objects.bulk_create(
        Exposure(
            experiment=experiment,
            unit_id=unit,
            arm="control" if arm == "c" else "treatment",
            first_exposed_at=T,
        )
        for unit, arm, _ in units
    )
    Session.objects.bulk_create(
        Session(
            project=project,
            external_id=unit,
            started_at=T,
            input_tokens=(1000 if arm == "c" else 2000) + 37 * (i % 11),
        )
        for unit, arm, i in units
    )
    events = []
    for unit, arm, i in units:
        done = (3 if arm == "c" else 6) + i % 3
        base = 10.0 if arm == "c" else 9.0
        for k in range(10):
            events.append(
                InvocationEvent(
                    key=f"{unit}-{k}",
                    session=unit,
                    skill="pytest",
                    invoked_at=T + timedelta(seconds=k),
                    completed=k < done,
                    duration_s=base + (i * 7 + k) % 6,
                )
            )
    record_invocations(project, events, source="api")


def test_goals_are_bh_corrected_guardrails_are_not_and_a_worse_guardrail_rolls_back(project):
    experiment = designed(project)
    populate(project, experiment)
    results = experiment_results(experiment, now=T + timedelta(hours=1))
    by_name = {m["metric"]: m["comparisons"][0] for m in results["metrics"]}
    goals = [by_name["completion_rate"], by_name["tool_duration"]]
    _, q, _, _ = multipletests([g["p_value"] for g in goals], method="fdr_bh")
    assert [g["q_value"] for g in goals] == pytest.approx(list(q))
    # Duration's p is the smaller of the two: BH makes it 2p; the larger keeps its p.
    assert goals[1]["p_value"] < goals[0]["p_value"]
    assert goals[1]["q_value"] == pytest.approx(2 * goals[1]["p_value"])
    assert goals[0]["q_value"] == pytest.approx(goals[0]["p_value"])
    assert by_name["completion_rate"]["decision"] == "ship"
    # Lower is better for duration: the treatment's faster calls are an improvement.
    assert by_name["tool_duration"]["abs_diff"] < 0
    assert by_name["tool_duration"]["chance_to_win"] > 0.5
    tokens = by_name["tokens"]
    assert tokens["q_value"] is None
    assert tokens["p_value"] < 0.05 and tokens["decision"] == "rollback"
    assert tokens["effect_size_kind"] == "cohens_d" and tokens["effect_size"] > 1
    assert results["decision"] == "rollback"


def test_the_overall_decision_rules():
    def metric(role: str, *decisions: str) -> dict:
        return {"role": role, "comparisons": [{"decision": d} for d in decisions]}

    goal_ship = metric("goal", "ship")
    assert overall_decision([goal_ship], srm_flag=True) == "invalid_srm"
    assert overall_decision([goal_ship], srm_flag=False) == "ship"
    assert overall_decision([goal_ship, metric("guardrail", "rollback")], False) == "rollback"
    assert overall_decision([metric("goal", "insufficient_data")], False) == "insufficient_data"
    mixed = [metric("goal", "insufficient_data", "inconclusive")]
    assert overall_decision(mixed, False) == "inconclusive"
    # A guardrail that improved does not ship an experiment whose goals are inconclusive.
    assert overall_decision(
        [metric("goal", "inconclusive"), metric("guardrail", "ship")], False
    ) == ("inconclusive")


def test_an_experiment_without_exposures_is_insufficient_data_everywhere(client, project, owner):
    experiment = designed(project)
    results = experiment_results(experiment, now=T)
    assert results["n"] == 0 and results["srm_p_value"] is None
    assert results["decision"] == "insufficient_data"
    rate = results["metrics"][0]
    assert [a["mean"] for a in rate["arms"]] == [None, None]
    assert rate["comparisons"][0]["p_value"] is None
    client.force_login(owner)
    page = client.get(f"/p/{project.slug}/experiments/rule/")
    assert page.status_code == 200
    assert "insufficient_data" in page.content.decode()
    listing = client.get(f"/p/{project.slug}/experiments/").content.decode()
    assert "/p/alpha/experiments/rule/" in listing
    assert client.get(f"/p/{project.slug}/experiments/nope/").status_code == 404


def test_another_projects_experiment_page_is_a_404(client, project, outsider):
    designed(project)
    client.force_login(outsider)
    assert client.get(f"/p/{project.slug}/experiments/rule/").status_code == 404
    assert client.get(f"/p/{project.slug}/experiments/").status_code == 404
