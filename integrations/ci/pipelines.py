"""Storing what CI deliveries say: runs and jobs upserted on the provider's ids, finished jobs
recorded as skill invocations through `tracking.ingest`, runs linked to the CI checkpoint of
their commit, whichever arrives first.

The webhook views store a `WebhookDelivery` and answer; `process_delivery` does the rest after
the commit (`transaction.on_commit`), and `manage.py process_webhooks` does what is left.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from integrations.ci import github, gitlab
from integrations.ci.facts import Delivery, JobFacts, RunFacts
from integrations.ci.models import GITHUB, PipelineJob, PipelineRun, WebhookDelivery
from tracking import instruments
from tracking.ingest import InvocationEvent, record_invocations
from tracking.models import Checkpoint, Project, Session
from tracking.sessions import session_end

log = logging.getLogger(__name__)

SOURCE = "ci"
# A commit named by a checkpoint matches a run's full sha from this many characters on.
MIN_PREFIX = 7
RUN_FIELDS = (
    "repository_name", "name", "commit", "branch", "event", "status", "conclusion",
    "created_at", "started_at", "finished_at", "duration_s", "url",
)  # fmt: skip
JOB_FIELDS = (
    "run_external_id", "run_attempt", "name", "stage", "phase", "commit", "status",
    "conclusion", "failure_reason", "created_at", "started_at", "finished_at", "duration_s",
    "queued_s", "steps", "url",
)  # fmt: skip
# Fields that describe where a run or job is; a delivery older than a stored final state
# (an in_progress that arrives after its completed) must not take them back.
STATE_FIELDS = ("status", "conclusion", "finished_at", "duration_s")


def parse(provider: str, event: str, payload: object) -> Delivery:
    """The provider's parse of a delivery."""
    return (github if provider == GITHUB else gitlab).parse(event, payload)


def session_key(provider: str, repository: str, run_id: int, attempt: int) -> str:
    """The external id of the session a run's job invocations belong to."""
    return f"ci:{provider}:{repository}:{run_id}:{attempt}"


def job_key(job: PipelineJob) -> str:
    """The idempotency key of a job's invocation, from the provider's ids."""
    return f"ci:{job.provider}:{job.repository}:job:{job.external_id}:{job.attempt}"


def process_delivery(pk: int) -> None:
    """Do the work of a pending delivery; a failure leaves it `error` with the reason, for
    `manage.py process_webhooks` to try again. Never raises (it runs after a response)."""
    try:
        with transaction.atomic():
            delivery = (
                WebhookDelivery.objects.select_for_update(skip_locked=True)
                .select_related("project")
                .filter(pk=pk, status__in=[WebhookDelivery.PENDING, WebhookDelivery.ERROR])
                .first()
            )
            if delivery is None:
                return  # done already, or another process has it
            apply_delivery(
                delivery.project, parse(delivery.provider, delivery.event, delivery.payload)
            )
            delivery.status = WebhookDelivery.DONE
            delivery.processed_at = timezone.now()
            delivery.payload = None
            delivery.error = ""
            delivery.save(update_fields=["status", "processed_at", "payload", "error"])
    except Exception as exc:  # noqa: BLE001 - after the commit: the row keeps the reason
        log.exception("webhook delivery %s failed", pk)
        WebhookDelivery.objects.filter(pk=pk).update(
            status=WebhookDelivery.ERROR, error=str(exc)[:2000]
        )


def apply_delivery(project: Project, delivery: Delivery) -> None:
    """Store a parsed delivery's runs and jobs for `project`, in the caller's transaction."""
    for facts in delivery.runs:
        run = upsert_run(project, facts)
        adopt_jobs(run)
        link_run(run)
    finished = {}
    for job_facts in delivery.jobs:
        job = upsert_job(project, job_facts)
        record_job(job)
        if job.run is not None:
            finished[job.run.pk] = job.run
    for facts in delivery.runs:
        run = PipelineRun.objects.get(
            project=project, provider=facts.provider, repository=facts.repository,
            external_id=facts.external_id, attempt=facts.attempt,
        )  # fmt: skip
        finished[run.pk] = run
    for run in finished.values():
        if run.conclusion:
            _end_session(run)


def _merged(existing, new: dict) -> dict:
    """`new` over the stored row: a value the delivery lacks keeps the stored one, and a
    delivery without a final state keeps a stored final state."""
    if existing is None:
        return new
    keep_state = bool(existing.conclusion) and not new.get("conclusion")
    merged = {}
    for name, value in new.items():
        if keep_state and name in STATE_FIELDS or value in (None, "", []):
            value = getattr(existing, name)
        merged[name] = value
    return merged


def _upsert(model, keys: dict, values: dict):
    """Insert or update the row with `keys` under a row lock; a concurrent insert of the same
    keys is retried as an update."""
    for attempt in range(2):
        try:
            with transaction.atomic():
                existing = model.objects.select_for_update().filter(**keys).first()
                merged = _merged(existing, values)
                if existing is None:
                    return model.objects.create(**keys, **merged)
                for name, value in merged.items():
                    setattr(existing, name, value)
                existing.save()
                return existing
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def upsert_run(project: Project, facts: RunFacts) -> PipelineRun:
    """The run of (provider, repository, run id, attempt), created or brought up to date."""
    keys = {
        "project": project,
        "provider": facts.provider,
        "repository": facts.repository,
        "external_id": facts.external_id,
        "attempt": facts.attempt,
    }
    before = PipelineRun.objects.filter(**keys).values_list("conclusion", flat=True).first()
    run = _upsert(PipelineRun, keys, {name: getattr(facts, name) for name in RUN_FIELDS})
    if run.conclusion and not before:
        # Counted once, when the run first has a conclusion (a replay or a late job adds none).
        instruments.count_ci_run(run.provider, run.conclusion, run.duration_s)
    return run


def upsert_job(project: Project, facts: JobFacts) -> PipelineJob:
    """The job of (provider, repository, job id, attempt), linked to its run if it is known."""
    attempt = facts.attempt
    base = {"project": project, "provider": facts.provider, "repository": facts.repository}
    if attempt is None:
        # A GitLab pipeline hook's build: the attempt a job hook gave it, else 0.
        known = (
            PipelineJob.objects.filter(**base, external_id=facts.external_id)
            .order_by("-attempt")
            .values_list("attempt", flat=True)
            .first()
        )
        attempt = known or 0
    values = {name: getattr(facts, name) for name in JOB_FIELDS if name != "phase"}
    values["phase"] = facts.phase
    run = PipelineRun.objects.filter(
        **base, external_id=facts.run_external_id, attempt=facts.run_attempt
    ).first()
    if run is not None:
        values["run"] = run
        values["commit"] = values["commit"] or run.commit
    return _upsert(
        PipelineJob, {**base, "external_id": facts.external_id, "attempt": attempt}, values
    )


def adopt_jobs(run: PipelineRun) -> int:
    """Link the jobs that arrived before their run; returns how many."""
    return PipelineJob.objects.filter(
        project=run.project,
        provider=run.provider,
        repository=run.repository,
        run_external_id=run.external_id,
        run_attempt=run.attempt,
        run__isnull=True,
    ).update(run=run)


def _outcome(conclusion: str) -> bool | None:
    if conclusion == "success":
        return True
    if conclusion in ("failure", "timed_out"):
        return False
    return None  # cancelled, other: the job's own outcome is not known


def record_job(job: PipelineJob) -> int:
    """A finished job as a skill invocation (source `ci`), once: re-sent deliveries carry the
    same key. A skipped job did not run and is not recorded. Returns 1 if recorded now."""
    if not job.conclusion or job.conclusion == "skipped":
        return 0
    invoked_at = job.started_at or job.created_at or job.finished_at
    if invoked_at is None:
        return 0
    outcome = _outcome(job.conclusion)
    error = "" if outcome else (job.failure_reason or job.conclusion)
    event = InvocationEvent(
        key=job_key(job),
        session=session_key(job.provider, job.repository, job.run_external_id, job.run_attempt),
        skill=job.name[:200],
        invoked_at=invoked_at,
        completed=outcome,
        duration_s=job.duration_s,
        phase=job.phase,
        error_type=error[:200],
    )
    return record_invocations(job.project, [event], source=SOURCE).accepted


def _end_session(run: PipelineRun) -> None:
    """A finished run ends the session its jobs were recorded in (it would stay active),
    whichever of the run and its jobs arrived last."""
    key = session_key(run.provider, run.repository, run.external_id, run.attempt)
    session = Session.objects.filter(
        project_id=run.project_id, external_id=key, status=Session.ACTIVE
    ).first()
    if session is None:
        return
    ended = run.finished_at or timezone.now()
    session_end(session=session, end_commit=run.commit, ended_at=max(ended, session.started_at))


def _prefixes(commit: str) -> list[str]:
    return [commit[:n] for n in range(MIN_PREFIX, len(commit) + 1)] or [commit]


def link_run(run: PipelineRun) -> Checkpoint | None:
    """Link the run to the newest CI checkpoint of its commit (a full sha or a prefix of at
    least MIN_PREFIX characters), if one exists."""
    if run.checkpoint_id or not run.commit:
        return run.checkpoint
    checkpoint = (
        Checkpoint.objects.filter(project=run.project, kind="ci", commit__in=_prefixes(run.commit))
        .order_by("-created_at", "-pk")
        .first()
    )
    if checkpoint is not None:
        PipelineRun.objects.filter(pk=run.pk).update(checkpoint=checkpoint)
        run.checkpoint = checkpoint
    return checkpoint


def link_checkpoint(checkpoint: Checkpoint) -> int:
    """Link the runs of a new CI checkpoint's commit that have no checkpoint yet."""
    commit = checkpoint.commit.lower()
    if checkpoint.kind != "ci" or not commit:
        return 0
    runs = PipelineRun.objects.filter(project_id=checkpoint.project_id, checkpoint__isnull=True)
    runs = (
        runs.filter(commit__startswith=commit)
        if len(commit) >= MIN_PREFIX
        else runs.filter(commit=commit)
    )
    return runs.update(checkpoint=checkpoint)


def on_checkpoint_created(sender, checkpoint: Checkpoint, **kwargs) -> None:
    """tracking.events.checkpoint_created receiver (connected in IntegrationsConfig.ready)."""
    link_checkpoint(checkpoint)


def pending_deliveries(older_than: datetime | None = None) -> list[int]:
    """Deliveries still to do (pending, or failed), oldest first."""
    rows = WebhookDelivery.objects.filter(
        status__in=[WebhookDelivery.PENDING, WebhookDelivery.ERROR]
    )
    if older_than is not None:
        rows = rows.filter(received_at__lt=older_than)
    return list(rows.order_by("received_at", "pk").values_list("pk", flat=True))
