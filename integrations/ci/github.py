"""GitHub webhook deliveries: the signature, and `workflow_run` / `workflow_job` payloads.

Fields as in monitoring-integrations.md §5.1 (octokit/webhooks payload schemas). A run has no
`completed_at`: its duration is `updated_at − run_started_at` once completed.
"""

from __future__ import annotations

import hashlib
import hmac

from integrations.ci.facts import (
    Delivery,
    JobFacts,
    PayloadError,
    RunFacts,
    between,
    integer,
    obj,
    stage_of,
    text,
    timestamp,
)
from integrations.ci.models import GITHUB

HANDLED_ACTIONS = {
    "workflow_run": {"completed", "in_progress"},
    "workflow_job": {"completed", "in_progress"},
}
CONCLUSIONS = {"success", "failure", "cancelled", "timed_out", "skipped"}


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """Whether `X-Hub-Signature-256` is `sha256=` + HMAC-SHA256(secret, raw body), compared
    in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode())


def conclusion(value: str) -> str:
    """GitHub's conclusion in Cairn's set: neutral, action_required and stale are "other"."""
    if not value:
        return ""
    return value if value in CONCLUSIONS else "other"


def parse(event: str, payload: object) -> Delivery:
    """What a delivery of `event` (X-GitHub-Event) says; PayloadError names a bad field."""
    if not isinstance(payload, dict):
        raise PayloadError("body must be a JSON object")
    given = payload.get("action")
    action = given if isinstance(given, str) else ""
    if event == "ping":
        return Delivery(event=event, action="")
    if event not in HANDLED_ACTIONS or action not in HANDLED_ACTIONS[event]:
        return Delivery(event=event, action=action[:50], handled=False)
    repository = obj(payload, "repository")
    repo_id = str(integer(repository, "id", where="repository"))
    repo_name = text(repository, "full_name", 300, where="repository")
    if event == "workflow_run":
        return Delivery(
            event=event,
            action=action,
            runs=[_run(obj(payload, "workflow_run"), repo_id, repo_name)],
        )
    return Delivery(event=event, action=action, jobs=[_job(obj(payload, "workflow_job"), repo_id)])


def _run(run: dict, repo_id: str, repo_name: str) -> RunFacts:
    where = "workflow_run"
    started = timestamp(run.get("run_started_at"), f"{where}.run_started_at")
    updated = timestamp(run.get("updated_at"), f"{where}.updated_at")
    status = text(run, "status", 50, where=where)
    finished = updated if status == "completed" else None
    return RunFacts(
        provider=GITHUB,
        repository=repo_id,
        repository_name=repo_name,
        external_id=integer(run, "id", where=where) or 0,
        attempt=integer(run, "run_attempt", where=where, required=False) or 1,
        name=text(run, "name", 300, where=where),
        commit=text(run, "head_sha", 64, where=where, required=True).lower(),
        branch=text(run, "head_branch", 300, where=where),
        event=text(run, "event", 100, where=where),
        status=status,
        conclusion=conclusion(text(run, "conclusion", 50, where=where)),
        created_at=timestamp(run.get("created_at"), f"{where}.created_at"),
        started_at=started,
        finished_at=finished,
        duration_s=between(started, finished),
        url=text(run, "html_url", 500, where=where),
    )


def _job(job: dict, repo_id: str) -> JobFacts:
    where = "workflow_job"
    name = text(job, "name", 300, where=where, required=True)
    created = timestamp(job.get("created_at"), f"{where}.created_at")
    started = timestamp(job.get("started_at"), f"{where}.started_at")
    completed = timestamp(job.get("completed_at"), f"{where}.completed_at")
    attempt = integer(job, "run_attempt", where=where, required=False) or 1
    return JobFacts(
        provider=GITHUB,
        repository=repo_id,
        external_id=integer(job, "id", where=where) or 0,
        attempt=attempt,
        run_external_id=integer(job, "run_id", where=where) or 0,
        run_attempt=attempt,
        name=name,
        stage=stage_of(name),
        commit=text(job, "head_sha", 64, where=where).lower(),
        status=text(job, "status", 50, where=where),
        conclusion=conclusion(text(job, "conclusion", 50, where=where)),
        failure_reason="",
        created_at=created,
        started_at=started,
        finished_at=completed,
        duration_s=between(started, completed),
        queued_s=between(created, started),
        url=text(job, "html_url", 500, where=where),
        steps=_steps(job.get("steps")),
    )


def _steps(steps: object) -> list[dict]:
    if steps is None:
        return []
    if not isinstance(steps, list):
        raise PayloadError("'workflow_job.steps' must be a list")
    result = []
    for index, step in enumerate(steps):
        where = f"workflow_job.steps[{index}]"
        if not isinstance(step, dict):
            raise PayloadError(f"'{where}' must be an object")
        started = timestamp(step.get("started_at"), f"{where}.started_at")
        completed = timestamp(step.get("completed_at"), f"{where}.completed_at")
        result.append(
            {
                "name": text(step, "name", 300, where=where),
                "number": integer(step, "number", where=where, required=False),
                "status": text(step, "status", 50, where=where),
                "conclusion": conclusion(text(step, "conclusion", 50, where=where)),
                "started_at": started.isoformat() if started else None,
                "completed_at": completed.isoformat() if completed else None,
                "duration_s": between(started, completed),
            }
        )
    return result
