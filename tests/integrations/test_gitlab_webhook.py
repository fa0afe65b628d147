"""`POST /api/v1/webhooks/gitlab/<project>`: Pipeline and Job Hooks, checked by their token."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pytest

from integrations.ci.models import PipelineJob, PipelineRun, WebhookDelivery, WebhookSecret
from tracking.models import SkillInvocation

from .ci_helpers import payload, send_gitlab

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(project) -> str:
    return WebhookSecret.of(project, "gitlab").secret


@pytest.fixture
def deliver(client, project, token, django_capture_on_commit_callbacks):
    def send(body, event: str, **headers):
        with django_capture_on_commit_callbacks(execute=True):
            return send_gitlab(client, project.slug, event, body, token=token, **headers)

    return send


def test_a_pipeline_hook_stores_the_pipeline_and_its_builds(deliver, project):
    response = deliver(payload("gitlab_pipeline_hook.json"), "Pipeline Hook")
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    run = PipelineRun.objects.get(project=project)
    assert (run.provider, run.repository, run.external_id) == ("gitlab", "380", 31)
    assert (run.status, run.conclusion, run.duration_s) == ("failed", "failure", 63.0)
    # "2016-08-12 15:26:29 UTC", GitLab's own format
    assert run.finished_at == datetime(2016, 8, 12, 15, 26, 29, tzinfo=UTC)
    assert run.started_at == datetime(2016, 8, 12, 15, 24, 56, tzinfo=UTC)  # first build start
    jobs = {j.name: j for j in PipelineJob.objects.filter(run=run)}
    assert set(jobs) == {"production", "test-image", "test-build", "build-image"}
    assert (jobs["test-build"].conclusion, jobs["test-build"].failure_reason) == (
        "failure", "script_failure",
    )  # fmt: skip
    assert (jobs["build-image"].stage, jobs["build-image"].phase) == ("build", "setup")
    assert jobs["production"].phase == "deployment"
    # The skipped deploy did not run: three invocations, one failed.
    invocations = {i.skill: i for i in SkillInvocation.objects.filter(project=project)}
    assert set(invocations) == {"test-image", "test-build", "build-image"}
    assert invocations["test-build"].completed is False
    assert invocations["test-build"].error_type == "script_failure"
    assert invocations["test-image"].duration_s == 17.0
    assert {i.source for i in invocations.values()} == {"ci"}


def test_a_job_hook_reads_iso_twins_and_not_commit_id(deliver, project):
    response = deliver(payload("gitlab_job_hook.json"), "Job Hook")
    assert response.status_code == 200
    job = PipelineJob.objects.get(project=project)
    assert (job.external_id, job.attempt, job.run_external_id) == (1977, 2, 2366)
    # commit.id is the pipeline id (2366); the commit is `sha`.
    assert job.commit == "2293ada6b400935a1378653304eaf6221e0fdb8f"
    assert job.started_at == datetime(2021, 2, 23, 2, 41, 38, tzinfo=UTC)
    assert (job.duration_s, job.queued_s) == (31.374, 1095.588715)
    invocation = SkillInvocation.objects.get(project=project)
    assert invocation.idempotency_key == "ci:gitlab:380:job:1977:2"
    assert invocation.phase == "execution"


def test_the_plain_timestamp_format_is_read_without_iso_twins(deliver):
    body = payload("gitlab_job_hook.json")
    for name in ("build_created_at_iso", "build_started_at_iso", "build_finished_at_iso"):
        del body[name]
    deliver(body, "Job Hook")
    assert PipelineJob.objects.get().finished_at == datetime(2021, 2, 23, 2, 42, 9, tzinfo=UTC)


def test_dedupe_on_idempotency_key_else_the_body_hash(deliver):
    body = payload("gitlab_job_hook.json")
    assert deliver(body, "Job Hook", idempotency_key="k-1").json()["status"] == "accepted"
    assert deliver(body, "Job Hook", idempotency_key="k-1").json()["status"] == "duplicate"
    first = deliver(payload("gitlab_pipeline_hook.json"), "Pipeline Hook")
    again = deliver(payload("gitlab_pipeline_hook.json"), "Pipeline Hook")
    raw = json.dumps(payload("gitlab_pipeline_hook.json")).encode()
    assert first.json()["delivery"] == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert again.json()["status"] == "duplicate"
    assert WebhookDelivery.objects.count() == 2
    assert PipelineRun.objects.count() == 1
    assert SkillInvocation.objects.count() == 4  # 3 builds of the pipeline, 1 job


def test_a_job_hook_and_the_pipelines_builds_are_one_job(deliver):
    build = payload("gitlab_job_hook.json")
    build.update(build_id=378, build_name="test-build", pipeline_id=31, retries_count=0)
    deliver(build, "Job Hook")
    deliver(payload("gitlab_pipeline_hook.json"), "Pipeline Hook")
    assert PipelineJob.objects.filter(external_id=378).count() == 1
    assert SkillInvocation.objects.filter(skill="test-build").count() == 1
    # The job arrived before its pipeline and was adopted by it.
    assert PipelineJob.objects.get(external_id=378).run == PipelineRun.objects.get()


@pytest.mark.parametrize("sent", [None, "wrong", ""])
def test_a_wrong_or_missing_token_is_401_and_stores_nothing(client, project, token, sent):
    response = send_gitlab(
        client, project.slug, "Pipeline Hook", payload("gitlab_pipeline_hook.json"), token=sent
    )
    assert response.status_code == 401
    assert not WebhookDelivery.objects.exists() and not PipelineRun.objects.exists()


def test_other_events_are_ignored_and_counted(deliver):
    response = deliver({"object_kind": "push", "ref": "refs/heads/main"}, "Push Hook")
    assert response.status_code == 202
    assert WebhookDelivery.objects.get().status == "ignored"


def test_a_kind_that_contradicts_the_event_is_a_400(deliver):
    response = deliver(payload("gitlab_job_hook.json"), "Pipeline Hook")
    assert response.status_code == 400 and "object_kind" in response.json()["error"]["message"]
    body = payload("gitlab_pipeline_hook.json")
    body["object_attributes"]["finished_at"] = "2016-08-12 15:26:29 CEST"
    response = deliver(body, "Pipeline Hook")
    assert response.status_code == 400
    assert "object_attributes.finished_at" in response.json()["error"]["message"]
    assert not WebhookDelivery.objects.exists()


def test_a_missing_event_header_is_a_400(client, project, token):
    raw = json.dumps(payload("gitlab_job_hook.json")).encode()
    response = client.post(
        f"/api/v1/webhooks/gitlab/{project.slug}", raw, content_type="application/json",
        HTTP_X_GITLAB_TOKEN=token,
    )  # fmt: skip
    assert response.status_code == 400 and "X-Gitlab-Event" in response.json()["error"]["message"]


def test_the_github_secret_does_not_open_the_gitlab_hook(client, project, token):
    github = WebhookSecret.of(project, "github").secret
    assert github != token
    response = send_gitlab(
        client, project.slug, "Job Hook", payload("gitlab_job_hook.json"), token=github
    )
    assert response.status_code == 401
