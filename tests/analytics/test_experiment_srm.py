"""A 50/50 experiment whose exposures came out 60/40 is a sample-ratio mismatch: every
decision is invalid_srm, however clear the difference looks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from scipy import stats

from analytics.experiments.results import experiment_results
from analytics.models import Experiment, Exposure
from tracking.ingest import InvocationEvent, record_invocations

pytestmark = pytest.mark.django_db
T = datetime(2026, 11, 20, 10, tzinfo=UTC)


def skewed(project, control: int, treatment: int) -> Experiment:
    experiment = Experiment.objects.create(
        project=project,
        key="skewed",
        name="Skewed",
        unit="session",
        arms=[{"key": "control", "weight": 0.5}, {"key": "treatment", "weight": 0.5}],
        metrics=["completion_rate"],
    )
    experiment.start(T)
    arms = ["control"] * control + ["treatment"] * treatment
    Exposure.objects.bulk_create(
        Exposure(experiment=experiment, unit_id=f"s{i}", arm=arm, first_exposed_at=T)
        for i, arm in enumerate(arms)
    )
    events = [
        InvocationEvent(
            key=f"s{i}-{k}",
            session=f"s{i}",
            skill="pytest",
            invoked_at=T + timedelta(minutes=k),
            completed=k < (1 + i % 3 if arm == "control" else 4 + i % 2),
        )
        for i, arm in enumerate(arms)
        for k in range(6)
    ]
    record_invocations(project, events, source="api")
    return experiment


def test_a_60_40_skew_of_a_50_50_split_flags_srm_and_invalidates_the_result(project):
    results = experiment_results(skewed(project, 300, 200), now=T + timedelta(days=1))
    expected = stats.chisquare([300, 200], [250, 250]).pvalue
    assert results["srm_p_value"] == pytest.approx(expected)
    assert expected < 0.001
    assert results["srm_flag"] is True
    comparison = results["metrics"][0]["comparisons"][0]
    # About 4.5/6 against 2/6 of the calls: significant, but the split is broken.
    assert comparison["p_value"] < 1e-6 and comparison["enough_data"] is True
    assert (comparison["srm_flag"], comparison["decision"]) == (True, "invalid_srm")
    assert results["decision"] == "invalid_srm"


def test_a_split_near_its_weights_is_not_flagged(project):
    results = experiment_results(skewed(project, 255, 245), now=T + timedelta(days=1))
    assert results["srm_p_value"] == pytest.approx(stats.chisquare([255, 245]).pvalue)
    assert results["srm_flag"] is False
    assert results["decision"] == "ship"
