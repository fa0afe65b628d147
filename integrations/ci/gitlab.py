"""GitLab webhook deliveries: the token, and Pipeline Hook / Job Hook payloads.

Fields as in monitoring-integrations.md §5.2 (GitLab's webhook_events.md). The token is the
secret itself in plain text (no HMAC); `commit.id` in a job hook is the pipeline's id, not
the commit, so the commit is read from `sha`.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace

from integrations.ci.facts import (
    Delivery,
    JobFacts,
    PayloadError,
    RunFacts,
    between,
    integer,
    obj,
    seconds,
    text,
    timestamp,
)
from integrations.ci.models import GITLAB

EVENTS = {"Pipeline Hook": "pipeline", "Job Hook": "build"}
# GitLab's final statuses in Cairn's set; the others (created, pending, running, manual, …)
# are not finished.
FINAL = {"success": "success", "failed": "failure", "canceled": "cancelled", "skipped": "skipped"}


def token_ok(secret: str, header: str | None) -> bool:
    """Whether `X-Gitlab-Token` is the secret, compared in constant time."""
    if not header:
        return False
    return hmac.compare_digest(secret.encode(), header.encode())


def delivery_key(idempotency_key: str | None, body: bytes) -> str:
    """The dedupe key: `Idempotency-Key` (GitLab 17.4+), else the body's sha256."""
    if idempotency_key and idempotency_key.strip():
        return idempotency_key.strip()[:200]
    return "sha256:" + hashlib.sha256(body).hexdigest()


def parse(event: str, payload: object) -> Delivery:
    """What a delivery of `event` (X-Gitlab-Event) says; PayloadError names a bad field."""
    if not isinstance(payload, dict):
        raise PayloadError("body must be a JSON object")
    kind = EVENTS.get(event)
    if kind is None:
        return Delivery(event=event[:100], action="", handled=False)
    if payload.get("object_kind") != kind:
        raise PayloadError(f"'object_kind' must be {kind!r} in a {event}")
    if kind == "pipeline":
        return _pipeline(event, payload)
    job = _build(payload)
    return Delivery(event=event, action=job.status, jobs=[job])


def _final(status: str) -> str:
    return FINAL.get(status, "")


def _pipeline(event: str, payload: dict) -> Delivery:
    attrs = obj(payload, "object_attributes")
    project = obj(payload, "project")
    where = "object_attributes"
    repo = str(integer(project, "id", where="project"))
    pipeline_id = integer(attrs, "id", where=where) or 0
    status = text(attrs, "status", 50, where=where, required=True)
    created = timestamp(attrs.get("created_at"), f"{where}.created_at")
    finished = timestamp(attrs.get("finished_at"), f"{where}.finished_at")
    commit = text(attrs, "sha", 64, where=where, required=True).lower()
    run = RunFacts(
        provider=GITLAB,
        repository=repo,
        repository_name=text(project, "path_with_namespace", 300, where="project"),
        external_id=pipeline_id,
        attempt=1,
        name=text(attrs, "name", 300, where=where),
        commit=commit,
        branch=text(attrs, "ref", 300, where=where),
        event=text(attrs, "source", 100, where=where),
        status=status,
        conclusion=_final(status),
        created_at=created,
        # A pipeline hook carries no start time: the first build's start stands in below.
        started_at=None,
        finished_at=finished,
        duration_s=seconds(attrs, "duration", where=where),
        url=text(attrs, "url", 500, where=where),
    )
    builds = payload.get("builds") or []
    if not isinstance(builds, list):
        raise PayloadError("'builds' must be a list")
    jobs = [_pipeline_build(b, i, repo, pipeline_id, commit) for i, b in enumerate(builds)]
    starts = [j.started_at for j in jobs if j.started_at is not None]
    if starts:
        run = replace(run, started_at=min(starts))
    elif created is not None:
        run = replace(run, started_at=created)
    return Delivery(event=event, action=status, runs=[run], jobs=jobs)


def _pipeline_build(
    build: object, index: int, repo: str, pipeline_id: int, commit: str
) -> JobFacts:
    where = f"builds[{index}]"
    if not isinstance(build, dict):
        raise PayloadError(f"'{where}' must be an object")
    status = text(build, "status", 50, where=where, required=True)
    started = timestamp(build.get("started_at"), f"{where}.started_at")
    finished = timestamp(build.get("finished_at"), f"{where}.finished_at")
    duration = seconds(build, "duration", where=where)
    return JobFacts(
        provider=GITLAB,
        repository=repo,
        external_id=integer(build, "id", where=where) or 0,
        attempt=None,
        run_external_id=pipeline_id,
        run_attempt=1,
        name=text(build, "name", 300, where=where, required=True),
        stage=text(build, "stage", 100, where=where),
        commit=commit,
        status=status,
        conclusion=_final(status),
        failure_reason=text(build, "failure_reason", 200, where=where),
        created_at=timestamp(build.get("created_at"), f"{where}.created_at"),
        started_at=started,
        finished_at=finished,
        duration_s=duration if duration is not None else between(started, finished),
        queued_s=seconds(build, "queued_duration", where=where),
        url="",
    )


def _build(payload: dict) -> JobFacts:
    def when(name: str):
        # The `_iso` twin when given (ISO 8601), else the plain field (either format).
        iso = payload.get(f"{name}_iso")
        return timestamp(iso if iso else payload.get(name), name)

    status = text(payload, "build_status", 50, required=True)
    started = when("build_started_at")
    finished = when("build_finished_at")
    duration = seconds(payload, "build_duration")
    return JobFacts(
        provider=GITLAB,
        repository=str(integer(payload, "project_id")),
        external_id=integer(payload, "build_id") or 0,
        attempt=integer(payload, "retries_count", required=False) or 0,
        run_external_id=integer(payload, "pipeline_id") or 0,
        run_attempt=1,
        name=text(payload, "build_name", 300, required=True),
        stage=text(payload, "build_stage", 100),
        commit=text(payload, "sha", 64).lower(),
        status=status,
        conclusion=_final(status),
        failure_reason=text(payload, "build_failure_reason", 200),
        created_at=when("build_created_at"),
        started_at=started,
        finished_at=finished,
        duration_s=duration if duration is not None else between(started, finished),
        queued_s=seconds(payload, "build_queued_duration"),
        url="",
    )
