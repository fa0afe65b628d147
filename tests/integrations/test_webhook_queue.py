"""The delivery queue: work left pending or failed is done by `manage.py process_webhooks`."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from integrations.ci.models import PipelineRun, WebhookDelivery, WebhookSecret
from tracking.models import SkillInvocation

from .ci_helpers import payload, send_github

pytestmark = pytest.mark.django_db


def process() -> str:
    out = StringIO()
    call_command("process_webhooks", stdout=out)
    return out.getvalue()


def test_a_delivery_whose_work_never_ran_is_done_by_the_command(client, project):
    secret = WebhookSecret.of(project, "github").secret
    # The on-commit work is not run here, as when the process died right after the commit.
    response = send_github(
        client, project.slug, "workflow_job", payload("github_workflow_job_completed.json"),
        secret=secret, delivery="d-1",
    )  # fmt: skip
    assert response.status_code == 200
    assert WebhookDelivery.objects.get().status == "pending"
    assert not SkillInvocation.objects.exists()
    assert "1 deliveries processed, 0 failed" in process()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.payload) == ("done", None)
    assert SkillInvocation.objects.count() == 1
    assert "0 deliveries processed" in process()  # done once
    assert SkillInvocation.objects.count() == 1


def test_a_failed_delivery_keeps_its_reason_and_is_retried(project):
    body = payload("github_workflow_run_completed.json")
    body["workflow_run"]["run_started_at"] = "not a time"
    WebhookDelivery.objects.create(
        project=project, provider="github", delivery_key="d-2", event="workflow_run",
        action="completed", payload=body,
    )  # fmt: skip
    assert "1 deliveries processed, 1 failed" in process()
    failed = WebhookDelivery.objects.get()
    assert failed.status == "error" and "workflow_run.run_started_at" in failed.error
    assert not PipelineRun.objects.exists()
    body["workflow_run"]["run_started_at"] = "2026-11-25T10:00:05Z"
    WebhookDelivery.objects.filter(pk=failed.pk).update(payload=body)
    process()
    assert WebhookDelivery.objects.get().status == "done"
    assert PipelineRun.objects.get().duration_s == 270.0
