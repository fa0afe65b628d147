"""What Cairn keeps of CI: webhook secrets, deliveries (the queue), pipeline runs and jobs.

Defined here and imported by `integrations/models.py`, so they belong to the `integrations`
app.
"""

from __future__ import annotations

import secrets

from django.db import models, transaction
from django.utils import timezone

from tracking.models import Checkpoint, Project

GITHUB = "github"
GITLAB = "gitlab"
PROVIDERS = [(GITHUB, "GitHub"), (GITLAB, "GitLab")]
# The conclusions runs and jobs are normalised to (the labels of cairn_ci_runs_total).
CONCLUSIONS = ("success", "failure", "cancelled", "timed_out", "skipped", "other")


class WebhookSecret(models.Model):
    """The secret one provider's webhooks of one project are checked with.

    Stored in plain text, not encrypted at rest: GitHub's HMAC needs the secret itself, and the
    settings page and `manage.py webhook_secret` show it. Whoever can read the database can
    forge deliveries; rotate it if the database leaks.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="webhook_secrets")
    provider = models.CharField(max_length=10, choices=PROVIDERS)
    secret = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)
    rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "provider"], name="webhook_secret_key")
        ]

    def __str__(self) -> str:
        return f"{self.project.slug} {self.provider} webhook secret"

    @staticmethod
    def generate() -> str:
        return secrets.token_hex(32)

    @classmethod
    def of(cls, project: Project, provider: str, *, rotate: bool = False) -> WebhookSecret:
        """The project's secret for `provider`, created on first use; `rotate` replaces it (the
        old one stops working at once)."""
        with transaction.atomic():
            row, created = cls.objects.select_for_update().get_or_create(
                project=project, provider=provider, defaults={"secret": cls.generate()}
            )
            if rotate and not created:
                row.secret = cls.generate()
                row.rotated_at = timezone.now()
                row.save(update_fields=["secret", "rotated_at"])
        return row


class WebhookDelivery(models.Model):
    """One delivery, stored once per dedupe key: the queue the work is done from.

    The request stores the row and answers; the work runs after the commit
    (`integrations.ci.pipelines.process_delivery`), and `manage.py process_webhooks` does what
    a crashed process left pending or failed.
    """

    PENDING = "pending"
    DONE = "done"
    IGNORED = "ignored"
    ERROR = "error"
    STATUSES = [(s, s) for s in (PENDING, DONE, IGNORED, ERROR)]

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    provider = models.CharField(max_length=10, choices=PROVIDERS)
    # X-GitHub-Delivery; GitLab's Idempotency-Key, else "sha256:<hex of the body>".
    delivery_key = models.CharField(max_length=200)
    event = models.CharField(max_length=100)
    action = models.CharField(max_length=50, blank=True)
    status = models.CharField(max_length=10, choices=STATUSES, default=PENDING)
    # The parsed body, kept only for work still to do (ignored events keep none).
    payload = models.JSONField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    # Deliveries of the same key after the first (redeliveries, replays): answered, not redone.
    replays = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "provider", "delivery_key"], name="webhook_delivery_key"
            )
        ]
        indexes = [models.Index(fields=["status", "received_at"], name="webhook_delivery_queue")]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.provider} {self.event} {self.delivery_key}"


class PipelineRun(models.Model):
    """A GitHub workflow run attempt or a GitLab pipeline, upserted on its provider's ids."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="pipeline_runs")
    provider = models.CharField(max_length=10, choices=PROVIDERS)
    # The provider's repository id (GitHub repository.id, GitLab project.id), as text.
    repository = models.CharField(max_length=50)
    repository_name = models.CharField(max_length=300, blank=True)
    external_id = models.BigIntegerField()
    attempt = models.PositiveIntegerField(default=1)
    name = models.CharField(max_length=300, blank=True)
    commit = models.CharField(max_length=64, blank=True)
    branch = models.CharField(max_length=300, blank=True)
    event = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=50, blank=True)
    # One of CONCLUSIONS, "" while running.
    conclusion = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_s = models.FloatField(null=True, blank=True)
    url = models.CharField(max_length=500, blank=True)
    checkpoint = models.ForeignKey(
        Checkpoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="pipeline_runs"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "provider", "repository", "external_id", "attempt"],
                name="pipeline_run_key",
            )
        ]
        indexes = [
            models.Index(fields=["project", "commit"], name="pipeline_run_commit"),
            models.Index(fields=["project", "-started_at"], name="pipeline_run_started"),
        ]
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.provider} run {self.external_id}#{self.attempt}"


class PipelineJob(models.Model):
    """A job of a run (GitHub workflow job, GitLab build). A job may arrive before its run:
    it then waits with `run` null and the run's ids, and the run takes it when it arrives."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="pipeline_jobs")
    provider = models.CharField(max_length=10, choices=PROVIDERS)
    repository = models.CharField(max_length=50)
    external_id = models.BigIntegerField()
    # GitHub: the run attempt; GitLab: retries_count (0 when a pipeline hook did not say).
    attempt = models.PositiveIntegerField(default=0)
    run_external_id = models.BigIntegerField()
    run_attempt = models.PositiveIntegerField(default=1)
    run = models.ForeignKey(
        PipelineRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    name = models.CharField(max_length=300)
    stage = models.CharField(max_length=100, blank=True)
    phase = models.CharField(max_length=100, blank=True)
    commit = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=50, blank=True)
    conclusion = models.CharField(max_length=20, blank=True)
    failure_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_s = models.FloatField(null=True, blank=True)
    queued_s = models.FloatField(null=True, blank=True)
    # [{name, number, status, conclusion, started_at, completed_at, duration_s}]
    steps = models.JSONField(default=list, blank=True)
    url = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "provider", "repository", "external_id", "attempt"],
                name="pipeline_job_key",
            )
        ]
        indexes = [
            models.Index(
                fields=["project", "provider", "repository", "run_external_id", "run_attempt"],
                name="pipeline_job_run",
            ),
            models.Index(fields=["project", "-finished_at"], name="pipeline_job_finished"),
        ]
        ordering = ["started_at", "pk"]

    def __str__(self) -> str:
        return f"{self.provider} job {self.name} ({self.external_id})"
