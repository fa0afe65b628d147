"""A crackerjack run as Cairn received it (imported here by `integrations/models.py`)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from tracking.models import Checkpoint, Project


class CrackerjackRun(models.Model):
    """One crackerjack run, stored once per (project, run_id): sending it again changes nothing.

    `phases` keeps the validated phases with their hooks, which the per-phase statistics read
    (never the event log, never memory).
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="crackerjack_runs")
    run_id = models.CharField(max_length=120)
    source = models.CharField(max_length=20, help_text="api or import")
    artefact = models.CharField(max_length=500, blank=True)
    started_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    phases = models.JSONField(default=list)
    # The QualityGateReport's `passed`; None without a report.
    gate_passed = models.BooleanField(null=True, blank=True)
    checkpoint = models.ForeignKey(
        Checkpoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "run_id"], name="crackerjack_run_key")
        ]
        indexes = [models.Index(fields=["project", "-started_at"], name="crackerjack_run_started")]
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"crackerjack run {self.run_id}"
