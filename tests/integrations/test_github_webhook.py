"""`POST /api/v1/webhooks/github/<project>`: signed deliveries become runs, jobs and invocations."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.test import override_settings

from integrations.ci.github import signature_ok
from integrations.ci.models import PipelineJob, PipelineRun, WebhookDelivery, WebhookSecret
from quality.collectors.git import GitInfo
from tracking.checkpoints import checkpoint_record
from tracking.models import Session, SkillHourly, SkillInvocation

from .ci_helpers import payload, send_github

pytestmark = pytest.mark.django_db
SHA = "d6fde92930d4715a2b49857d24b940956b26d2d3"


@pytest.fixture
def secret(project) -> str:
    return WebhookSecret.of(project, "github").secret


@pytest.fixture
def deliver(client, project, secret, django_capture_on_commit_callbacks):
    """Send a fixture as a signed delivery and run the work that follows its commit."""

    def send(name: str, event: str, delivery: str, **changes):
        body = payload(name)
        for key, value in changes.items():
            body[event][key] = value
        with django_capture_on_commit_callbacks(execute=True):
            return send_github(client, project.slug, event, body, secret=secret, delivery=delivery)

    return send


def test_githubs_published_test_vector_verifies():
    vector = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signature_ok("It's a Secret to Everybody", b"Hello, World!", vector)
    assert not signature_ok("It's a Secret to Everybody", b"Hello, World?", vector)
    assert not signature_ok("It's a Secret to Everybody", b"Hello, World!", vector[7:])


def test_a_completed_run_and_job_are_stored_with_their_timings(deliver, project):
    assert deliver("github_workflow_run_completed.json", "workflow_run", "d-run").status_code == 200
    response = deliver("github_workflow_job_completed.json", "workflow_job", "d-job")
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    run = PipelineRun.objects.get(project=project)
    assert (run.provider, run.repository, run.external_id, run.attempt) == (
        "github", "1296269", 30433642, 1,
    )  # fmt: skip
    assert (run.commit, run.branch, run.conclusion) == (SHA, "main", "success")
    # run_started_at 10:00:05 → updated_at 10:04:35
    assert run.duration_s == 270.0
    job = PipelineJob.objects.get(project=project)
    assert job.run == run and job.name == "test (3.11)"
    assert (job.stage, job.phase) == ("test", "execution")
    # started 10:00:16 → completed 10:04:01; created 10:00:06 → started 10:00:16
    assert (job.duration_s, job.queued_s) == (225.0, 10.0)
    assert [s["duration_s"] for s in job.steps] == [2.0, 220.0, 3.0]
    assert [s["conclusion"] for s in job.steps] == ["success"] * 3
    invocation = SkillInvocation.objects.get(project=project)
    assert (invocation.skill, invocation.source, invocation.phase) == (
        "test (3.11)",
        "ci",
        "execution",
    )
    assert (invocation.completed, invocation.duration_s) == (True, 225.0)
    assert invocation.invoked_at == datetime(2026, 11, 25, 10, 0, 16, tzinfo=UTC)
    assert invocation.idempotency_key == "ci:github:1296269:job:399444496:1"
    assert SkillHourly.objects.get(project=project).completed == 1
    # The run's session is the CI run's, ended when the run completed.
    session = Session.objects.get(project=project)
    assert session.external_id == "ci:github:1296269:30433642:1"
    assert (session.status, session.ended_at) == ("ended", run.finished_at)


def test_a_replay_is_answered_and_counted_once(deliver, project):
    deliver("github_workflow_job_completed.json", "workflow_job", "d-job")
    again = deliver("github_workflow_job_completed.json", "workflow_job", "d-job")
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    # A redelivery with a new delivery id is deduplicated by the job's ids.
    deliver("github_workflow_job_completed.json", "workflow_job", "d-job-redelivered")
    assert PipelineJob.objects.count() == 1
    assert SkillInvocation.objects.count() == 1
    assert SkillHourly.objects.get(project=project).invocations == 1
    assert WebhookDelivery.objects.get(delivery_key="d-job").replays == 1


def test_a_job_before_its_run_is_linked_when_the_run_arrives(deliver, project):
    deliver("github_workflow_job_completed.json", "workflow_job", "d-job")
    job = PipelineJob.objects.get()
    assert job.run is None and job.run_external_id == 30433642
    deliver("github_workflow_run_completed.json", "workflow_run", "d-run")
    job.refresh_from_db()
    assert job.run == PipelineRun.objects.get()


def test_in_progress_comes_before_completed_and_never_takes_it_back(deliver):
    deliver("github_workflow_run_in_progress.json", "workflow_run", "d-1")
    run = PipelineRun.objects.get()
    assert (run.status, run.conclusion, run.duration_s) == ("in_progress", "", None)
    deliver("github_workflow_run_completed.json", "workflow_run", "d-2")
    deliver("github_workflow_run_in_progress.json", "workflow_run", "d-3")  # late
    run.refresh_from_db()
    assert (run.status, run.conclusion, run.duration_s) == ("completed", "success", 270.0)
    deliver("github_workflow_job_in_progress.json", "workflow_job", "d-4")
    assert PipelineJob.objects.get().status == "in_progress"
    assert not SkillInvocation.objects.exists()  # recorded only once finished


def test_a_rerun_is_a_run_attempt_of_its_own(deliver):
    deliver("github_workflow_run_completed.json", "workflow_run", "d-1")
    deliver(
        "github_workflow_run_completed.json", "workflow_run", "d-2",
        run_attempt=2, conclusion="failure",
    )  # fmt: skip
    assert sorted(PipelineRun.objects.values_list("attempt", "conclusion")) == [
        (1, "success"), (2, "failure"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "signature_of"),
    [
        ("wrong secret", lambda raw: _sign("not the secret", raw)),
        ("missing header", lambda raw: None),
        ("body modified after signing", lambda raw: "MODIFIED"),
        ("sha1 scheme", lambda raw: "sha1=" + "0" * 40),
    ],
)
def test_a_bad_signature_is_401_and_stores_nothing(client, project, secret, case, signature_of):
    raw = json.dumps(payload("github_workflow_run_completed.json")).encode()
    signature = signature_of(raw)
    if signature == "MODIFIED":
        signature = _sign(secret, raw)
        raw = raw.replace(b'"success"', b'"failure"')
    response = send_github(
        client, project.slug, "workflow_run", raw, signature=signature or None, delivery="d-bad"
    )
    assert response.status_code == 401, case
    assert response.json()["error"]["code"] == "bad_signature"
    assert not WebhookDelivery.objects.exists()
    assert not PipelineRun.objects.exists()


def test_an_unknown_project_gets_the_same_401(client, project, secret):
    body = payload("github_ping.json")
    response = send_github(client, "nope", "ping", body, secret=secret)
    assert response.status_code == 401


def test_a_project_without_a_github_secret_is_refused(client, project):
    response = send_github(client, project.slug, "ping", payload("github_ping.json"), secret="x")
    assert response.status_code == 401


def test_ping_is_answered_and_other_events_are_ignored_and_counted(deliver):
    assert deliver("github_ping.json", "ping", "d-ping").json()["status"] == "pong"
    pushed = deliver("github_push.json", "push", "d-push")
    assert pushed.status_code == 202 and pushed.json()["status"] == "ignored"
    queued = deliver("github_workflow_run_in_progress.json", "workflow_run", "d-q", status="queued")
    assert queued.status_code == 200  # the action, not the status, says what it is
    ignored = WebhookDelivery.objects.get(delivery_key="d-push")
    assert (ignored.status, ignored.event, ignored.payload) == ("ignored", "push", None)


def test_a_requested_run_is_ignored(client, project, secret):
    body = payload("github_workflow_run_in_progress.json")
    body["action"] = "requested"
    response = send_github(client, project.slug, "workflow_run", body, secret=secret)
    assert response.status_code == 202
    assert not PipelineRun.objects.exists()


def test_a_missing_field_is_a_400_naming_it(client, project, secret):
    body = payload("github_workflow_run_completed.json")
    del body["workflow_run"]["head_sha"]
    response = send_github(client, project.slug, "workflow_run", body, secret=secret)
    assert response.status_code == 400
    assert "workflow_run.head_sha" in response.json()["error"]["message"]
    body = payload("github_workflow_job_completed.json")
    body["workflow_job"]["started_at"] = "yesterday"
    response = send_github(client, project.slug, "workflow_job", body, secret=secret)
    assert response.status_code == 400
    assert "workflow_job.started_at" in response.json()["error"]["message"]
    assert not WebhookDelivery.objects.exists()


def test_a_missing_delivery_header_is_a_400(client, project, secret):
    raw = json.dumps(payload("github_ping.json")).encode()
    response = client.post(
        f"/api/v1/webhooks/github/{project.slug}", raw, content_type="application/json",
        HTTP_X_GITHUB_EVENT="ping", HTTP_X_HUB_SIGNATURE_256=_sign(secret, raw),
    )  # fmt: skip
    assert response.status_code == 400
    assert "X-GitHub-Delivery" in response.json()["error"]["message"]


@override_settings(INGEST_MAX_BYTES=1000)
def test_an_oversize_body_is_413(client, project, secret):
    body = payload("github_workflow_run_completed.json")
    assert send_github(client, project.slug, "workflow_run", body, secret=secret).status_code == 413
    assert not WebhookDelivery.objects.exists()


def test_the_run_links_to_the_ci_checkpoint_uploaded_before_it(deliver, project):
    checkpoint = checkpoint_record(
        project=project, readings=[], git=GitInfo(head=SHA[:12], branch="main"), kind="ci"
    )
    deliver("github_workflow_run_completed.json", "workflow_run", "d-run")
    assert PipelineRun.objects.get().checkpoint == checkpoint


def test_the_ci_checkpoint_uploaded_after_the_run_is_linked(deliver, project):
    deliver("github_workflow_run_completed.json", "workflow_run", "d-run")
    assert PipelineRun.objects.get().checkpoint is None
    other = checkpoint_record(project=project, readings=[], git=GitInfo(head="ab" * 20), kind="ci")
    checkpoint = checkpoint_record(project=project, readings=[], git=GitInfo(head=SHA), kind="ci")
    run = PipelineRun.objects.get()
    assert run.checkpoint == checkpoint and run.checkpoint != other


def test_another_projects_checkpoint_of_the_same_commit_is_not_linked(deliver, other_project):
    checkpoint_record(project=other_project, readings=[], git=GitInfo(head=SHA), kind="ci")
    deliver("github_workflow_run_completed.json", "workflow_run", "d-run")
    assert PipelineRun.objects.get().checkpoint is None


def _sign(secret: str, raw: bytes) -> str:
    from .ci_helpers import github_signature

    return github_signature(secret, raw)
