"""Stored analytics results: anomalies with an open → resolved lifecycle."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from tracking.models import Project


class SkillAnomaly(models.Model):
    """One anomaly of a skill's metric in one direction, from its opening to its resolution.

    Written only by `analytics.detection` (the `analytics_worker` command). At most one open
    row per (project, skill, metric, anomaly_type); a repeat flag updates that row. Resolved
    rows are kept. Every figure states what it was computed on: the window, n on both sides,
    the method and its parameters (with the p-values of the family it was corrected in).
    """

    # What an anomaly shows (the API and the live frames); the lifecycle's bookkeeping
    # (last_evaluated_at, clear_streak) stays inside.
    SHOWN_FIELDS = (
        "skill", "metric", "anomaly_type", "status", "opened_at", "last_seen_at", "resolved_at",
        "window_start", "window_end", "baseline_value", "baseline_n", "observed_value",
        "observed_n", "p_value", "q_value", "deviation_score", "peak_deviation_score",
        "evaluations", "method", "params",
    )  # fmt: skip

    OPEN = "open"
    RESOLVED = "resolved"
    STATUSES = [(OPEN, "open"), (RESOLVED, "resolved")]
    METRICS = [
        ("completion_rate", "completion rate"),
        ("volume", "volume"),
        ("duration", "duration"),
    ]
    TYPES = [("drop", "drop"), ("spike", "spike")]

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="anomalies")
    skill = models.CharField(max_length=200)
    metric = models.CharField(max_length=20, choices=METRICS)
    anomaly_type = models.CharField(max_length=10, choices=TYPES)
    status = models.CharField(max_length=10, choices=STATUSES, default=OPEN)
    opened_at = models.DateTimeField(help_text="The evaluation time (`at`) that opened it.")
    last_seen_at = models.DateTimeField(help_text="The last evaluation time that flagged it.")
    resolved_at = models.DateTimeField(null=True, blank=True)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    baseline_value = models.FloatField()
    baseline_n = models.PositiveIntegerField()
    observed_value = models.FloatField()
    observed_n = models.PositiveIntegerField()
    p_value = models.FloatField()
    q_value = models.FloatField()
    deviation_score = models.FloatField()
    peak_deviation_score = models.FloatField()
    evaluations = models.PositiveIntegerField(default=1, help_text="Evaluations that flagged it.")
    method = models.CharField(max_length=40)
    params = models.JSONField(default=dict)
    # Lifecycle state: the last evaluation time applied (a second run at the same time is not a
    # new evaluation) and the consecutive evaluations that found it cleared.
    last_evaluated_at = models.DateTimeField()
    clear_streak = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "skill", "metric", "anomaly_type"],
                condition=Q(status="open"),
                name="skillanomaly_one_open",
            )
        ]
        indexes = [
            models.Index(fields=["project", "status"], name="skillanomaly_project_status"),
            models.Index(fields=["opened_at"], name="skillanomaly_opened"),
        ]
        verbose_name_plural = "skill anomalies"

    def __str__(self) -> str:
        return f"{self.skill} {self.metric} {self.anomaly_type} ({self.status})"


class SkillWindowFigures(models.Model):
    """A skill's figures over a closed window of whole hours in one project that cannot be
    summed from the rollups cheaply: distinct sessions and named users (distinct counts do
    not add up across hours), and the window's duration histogram and phase counts (summing
    them reads a row per bucket and day: millions over 30 days of 20 busy projects).

    Written by the analytics worker (`analytics.window_figures.recompute`) for the standard
    windows ending at its hour; the skills endpoint reads it, adds what came after
    `window_end`, and counts live instead when the window's invocations no longer match the
    ones stored (events delivered late into the window since).
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    skill = models.CharField(max_length=200)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    invocations = models.PositiveIntegerField(help_text="The window's, when it was counted.")
    sessions = models.PositiveIntegerField()
    users = models.JSONField(default=list, help_text="Distinct non-empty Session.user_name.")
    durations = models.JSONField(default=dict, help_text="Duration bucket → count.")
    phases = models.JSONField(default=dict, help_text="Non-empty phase → count.")
    computed_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(
                fields=["project", "window_start", "window_end"], name="skillwindowfigures_window"
            )
        ]
        verbose_name_plural = "skill window figures"

    def __str__(self) -> str:
        return f"{self.skill} {self.window_start:%Y-%m-%d %H}:00–{self.window_end:%Y-%m-%d %H}:00"
