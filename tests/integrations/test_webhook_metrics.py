"""Webhook deliveries and CI runs are counted in the Prometheus families of docs/metrics.md:
each answer once by provider, event and outcome, and a run once, when it first finishes."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from prometheus_client import REGISTRY

from integrations.ci.models import WebhookSecret

pytestmark = pytest.mark.django_db(transaction=True)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def post(client, project, body: dict, event: str, delivery: str, secret: str):
    raw = json.dumps(body).encode()
    signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return client.post(
        f"/api/v1/webhooks/github/{project.slug}",
        raw,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=signature,
        HTTP_X_GITHUB_EVENT=event,
        HTTP_X_GITHUB_DELIVERY=delivery,
    )


def run_payload(conclusion: str | None) -> dict:
    return {
        "action": "completed" if conclusion else "in_progress",
        "repository": {"id": 7, "full_name": "octo/app"},
        "workflow_run": {
            "id": 99, "run_attempt": 1, "name": "CI", "head_sha": "a" * 40,
            "head_branch": "main", "event": "push",
            "status": "completed" if conclusion else "in_progress", "conclusion": conclusion,
            "created_at": "2026-11-30T10:00:00Z", "run_started_at": "2026-11-30T10:00:05Z",
            "updated_at": "2026-11-30T10:04:05Z", "html_url": "https://github.com/octo/app",
        },
    }  # fmt: skip


def test_answers_and_runs_are_counted_once(client, project):
    secret = WebhookSecret.of(project, "github").secret
    labels = {"provider": "github"}
    accepted = sample("cairn_webhook_deliveries_total", **labels, event="workflow_run",
                      outcome="accepted")  # fmt: skip
    duplicate = sample("cairn_webhook_deliveries_total", **labels, event="workflow_run",
                       outcome="duplicate")  # fmt: skip
    refused = sample("cairn_webhook_deliveries_total", **labels, event="other",
                     outcome="bad_signature")  # fmt: skip
    succeeded = sample("cairn_ci_runs_total", **labels, conclusion="success")

    assert post(client, project, run_payload(None), "workflow_run", "d1", secret).status_code == 200
    assert (
        post(client, project, run_payload("success"), "workflow_run", "d2", secret).status_code
        == 200
    )
    assert (
        post(client, project, run_payload("success"), "workflow_run", "d2", secret).status_code
        == 200
    )
    assert (
        post(client, project, run_payload("success"), "workflow_run", "d3", "wrong").status_code
        == 401
    )

    assert sample("cairn_webhook_deliveries_total", **labels, event="workflow_run",
                  outcome="accepted") == accepted + 2  # fmt: skip
    assert sample("cairn_webhook_deliveries_total", **labels, event="workflow_run",
                  outcome="duplicate") == duplicate + 1  # fmt: skip
    assert sample("cairn_webhook_deliveries_total", **labels, event="other",
                  outcome="bad_signature") == refused + 1  # fmt: skip
    # In progress, then completed, then its replay: one finished run.
    assert sample("cairn_ci_runs_total", **labels, conclusion="success") == succeeded + 1
