"""Pipeline analytics (`GET /api/v1/pipelines`, the pipelines page) over stored runs and jobs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from integrations.ci.analytics import pipeline_analytics
from integrations.ci.models import PipelineJob, PipelineRun

pytestmark = pytest.mark.django_db
NOW = datetime.now(UTC).replace(microsecond=0)
DAY1 = NOW - timedelta(days=2)
DAY2 = NOW - timedelta(days=1)


def job(project, n: int, name: str, stage: str, conclusion: str, commit: str, at, duration=None):
    return PipelineJob.objects.create(
        project=project, provider="gitlab", repository="380", external_id=n, attempt=0,
        run_external_id=1, name=name, stage=stage, phase={"test": "execution"}.get(stage, ""),
        commit=commit, conclusion=conclusion, started_at=at - timedelta(seconds=duration or 1),
        finished_at=at, duration_s=duration,
    )  # fmt: skip


def run(project, n: int, conclusion: str, finished, duration):
    return PipelineRun.objects.create(
        project=project, provider="gitlab", repository="380", external_id=n,
        commit="c", conclusion=conclusion, finished_at=finished, duration_s=duration,
    )  # fmt: skip


@pytest.fixture
def history(project):
    t = DAY1
    # pytest: c1 fails then passes (flaky), c2 and c3 pass, c4 fails: 3 of 4.
    job(project, 1, "pytest", "test", "failure", "c1", t, 100.0)
    job(project, 2, "pytest", "test", "success", "c1", t + timedelta(minutes=5), 120.0)
    job(project, 3, "pytest", "test", "success", "c2", t + timedelta(minutes=10), 80.0)
    job(project, 4, "pytest", "test", "failure", "c4", t + timedelta(minutes=15), 200.0)
    # c4 passes before it fails: not flaky (the pass came first).
    job(project, 5, "lint", "test", "success", "c4", t, 10.0)
    job(project, 6, "lint", "test", "failure", "c4", t + timedelta(minutes=1), 12.0)
    job(project, 7, "deploy-prod", "deploy", "success", "c1", t, 30.0)
    job(project, 8, "deploy-prod", "deploy", "failure", "c2", t, 31.0)
    job(project, 9, "deploy-prod", "deploy", "timed_out", "c3", t, None)
    job(project, 10, "deploy-prod", "deploy", "cancelled", "c4", t, 5.0)
    job(project, 11, "deploy-prod", "deploy", "skipped", "c5", t, None)
    job(project, 12, "pytest", "test", "failure", "c9", NOW - timedelta(days=40), 1.0)  # old
    run(project, 1, "success", DAY1, 300.0)
    run(project, 2, "failure", DAY1 + timedelta(minutes=1), 500.0)
    run(project, 3, "success", DAY2, 400.0)
    run(project, 4, "", None, None)  # running
    run(project, 5, "success", NOW - timedelta(days=40), 9.0)  # outside the window


def test_figures_per_job_and_stage(project, history):
    report = pipeline_analytics(project, days=30, now=NOW)
    jobs = {row["job"]: row for row in report["jobs"]}
    pytest_ = jobs["pytest"]
    assert (pytest_["runs"], pytest_["decided"], pytest_["succeeded"]) == (4, 4, 2)
    assert pytest_["success_rate"] == 0.5
    low, high = proportion_confint(2, 4, method="wilson")
    assert (pytest_["success_rate_low"], pytest_["success_rate_high"]) == (
        pytest.approx(low), pytest.approx(high),
    )  # fmt: skip
    # [80, 100, 120, 200]: p50 = 110, p90 = 120 + 0.7 × 80 = 176
    assert pytest_["duration_p50_s"] == 110.0
    assert pytest_["duration_p90_s"] == pytest.approx(176.0)
    assert pytest_["duration_p90_s"] == pytest.approx(np.percentile([80, 100, 120, 200], 90))
    deploy = jobs["deploy-prod"]
    # Skipped is left out; cancelled is a run, not a decided one; timed_out is a failure.
    assert (deploy["runs"], deploy["decided"], deploy["succeeded"]) == (4, 3, 1)
    assert deploy["duration_n"] == 3
    stages = {row["stage"]: row for row in report["stages"]}
    assert (stages["test"]["decided"], stages["test"]["succeeded"]) == (6, 3)
    assert stages["test"]["phase"] == "execution"


def test_bottlenecks_and_severity(project, history):
    report = pipeline_analytics(project, days=30, now=NOW)
    found = {(b["level"], b["stage"], b["job"]): b["severity"] for b in report["bottlenecks"]}
    assert found == {
        ("stage", "deploy", None): "high",  # 1 of 3
        ("stage", "test", None): "medium",  # 3 of 6 is 0.5: not below 0.5
        ("job", "deploy", "deploy-prod"): "high",
        ("job", "test", "pytest"): "medium",
        ("job", "test", "lint"): "medium",
    }


def test_flaky_is_a_failure_then_a_pass_on_one_commit(project, history):
    flaky = pipeline_analytics(project, days=30, now=NOW)["flaky"]
    assert [(f["job"], f["commit"]) for f in flaky] == [("pytest", "c1")]
    assert flaky[0]["passed_at"] - flaky[0]["failed_at"] == timedelta(minutes=5)


def test_runs_and_their_daily_duration(project, history):
    report = pipeline_analytics(project, days=30, now=NOW)
    assert (report["runs"]["runs"], report["runs"]["succeeded"]) == (3, 2)
    trend = report["trend"]
    assert [(d["day"], d["runs"]) for d in trend] == [
        (DAY1.date().isoformat(), 2), (DAY2.date().isoformat(), 1),
    ]  # fmt: skip
    assert (trend[0]["duration_p50_s"], trend[0]["duration_p90_s"]) == (400.0, 480.0)


def test_nothing_finished_is_not_measured(project):
    report = pipeline_analytics(project, days=30, now=NOW)
    assert report["runs"]["success_rate"] is None
    assert report["runs"]["duration_p50_s"] is None
    assert report["stages"] == report["bottlenecks"] == report["trend"] == []


def test_the_api_answers_with_a_key_and_refuses_bad_queries(api, project, read_key, history):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {read_key}"}
    body = api.get("/api/v1/pipelines?project=alpha", **auth).json()
    assert {row["job"] for row in body["jobs"]} == {"pytest", "lint", "deploy-prod"}
    assert body["flaky"][0]["commit"] == "c1"
    missing = api.get("/api/v1/pipelines", **auth)
    assert missing.status_code == 400 and "project" in missing.json()["error"]["detail"]
    bad = api.get("/api/v1/pipelines?project=alpha&days=0", **auth)
    assert bad.status_code == 400 and "days" in bad.json()["error"]["detail"]
    assert api.get("/api/v1/pipelines?project=beta", **auth).status_code == 404
    assert api.get("/api/v1/pipelines?project=alpha").status_code == 401


def test_the_page_shows_the_figures_to_members_only(
    owner_client, client, outsider, project, history
):
    page = owner_client.get("/p/alpha/pipelines/")
    html = page.content.decode()
    assert page.status_code == 200
    assert (
        "deploy-prod" in html and "50.0 %" in html and "not measured" not in html.split("Runs")[0]
    )
    client.force_login(outsider)
    assert client.get("/p/alpha/pipelines/").status_code == 404
