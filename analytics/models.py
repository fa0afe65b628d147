"""Stored analytics results: anomalies with an open → resolved lifecycle; worker heartbeats;
experiments and their exposures."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from analytics.experiments.assignment import bucket_ranges
from analytics.experiments.validation import arms_problem, metrics_problem
from tracking import instruments
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


class WorkerHeartbeat(models.Model):
    """When a periodic worker last ran and last succeeded. In the database, not in a process:
    any process's /metrics tells it (`cairn_worker_last_success_timestamp_seconds`), across
    restarts of the worker."""

    worker = models.CharField(max_length=40, unique=True)
    last_run_at = models.DateTimeField()
    last_success_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.worker

    @classmethod
    def beat(cls, worker: str, *, succeeded: bool) -> None:
        """Record and count one finished run of `worker`."""
        now = timezone.now()
        fields = {"last_run_at": now, **({"last_success_at": now} if succeeded else {})}
        cls.objects.update_or_create(worker=worker, defaults=fields)
        instruments.worker_runs.labels(worker, "success" if succeeded else "error").inc()


class ExperimentStateError(ValueError):
    """A transition the experiment's status does not allow (draft → running → stopped)."""


class Experiment(models.Model):
    """An A/B test of an agent setup in one project, assigned by GrowthBook's hash v2.

    Arms are `[{key, weight, context}]`, the first being the control; weights sum to 1 and
    take cumulative ranges of the unit interval. `context` is what the agent is given (the
    SessionStart hook's additionalContext). The status moves draft → running → stopped only,
    through `start()` and `stop()`; a draft or stopped experiment assigns no one.
    """

    DRAFT = "draft"
    RUNNING = "running"
    STOPPED = "stopped"
    STATUSES = [(DRAFT, "draft"), (RUNNING, "running"), (STOPPED, "stopped")]
    SESSION = "session"
    USER = "user"
    UNITS = [(SESSION, "session"), (USER, "user")]
    HASH_RULE = "fnv1a32(str(fnv1a32(key + unit))) mod 10000 / 10000 (GrowthBook hash v2)"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="experiments")
    key = models.SlugField(max_length=100, help_text="The hash seed too: never change it once run.")
    name = models.CharField(max_length=200)
    hypothesis = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=STATUSES, default=DRAFT)
    unit = models.CharField(max_length=10, choices=UNITS, default=SESSION)
    arms = models.JSONField(help_text='[{"key": "control", "weight": 0.5, "context": ""}, …]')
    metrics = models.JSONField(default=list, help_text="Goal metrics, corrected by BH.")
    guardrail_metrics = models.JSONField(default=list, blank=True)
    planned_units = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    # The analytics worker's last results, to tell when a decision changed (pushed live).
    last_results = models.JSONField(null=True, blank=True, editable=False)
    last_evaluated_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The results any reader got last, and the digest of the data they came from: served
    # again while the digest still matches (analytics.experiments.cache).
    results_cache = models.JSONField(null=True, blank=True, editable=False)
    results_fingerprint = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "key"], name="experiment_project_key")
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("experiment-detail", args=[self.project.slug, self.key])

    def clean(self) -> None:
        problems = {}
        if (problem := arms_problem(self.arms)) is not None:
            problems["arms"] = problem
        if (problem := metrics_problem(self.metrics, self.guardrail_metrics)) is not None:
            problems["metrics"] = problem
        if problems:
            raise ValidationError(problems)

    @property
    def arm_keys(self) -> list[str]:
        return [arm["key"] for arm in self.arms]

    @property
    def ranges(self) -> list[tuple[float, float]]:
        return bucket_ranges([float(arm["weight"]) for arm in self.arms])

    @property
    def assignment_rule(self) -> str:
        """The rule in words, with each arm's range of the hash (shown in the admin)."""
        ranges = ", ".join(
            f"{key} [{start:.4f}, {end:.4f})"
            for key, (start, end) in zip(self.arm_keys, self.ranges, strict=True)
        )
        return f"hash = {self.HASH_RULE.replace('key', repr(self.key))}; {ranges}"

    def start(self, now: datetime | None = None) -> None:
        """draft → running; anything else is an ExperimentStateError."""
        if self.status != self.DRAFT:
            raise ExperimentStateError(f"only a draft can start; this one is {self.status}")
        self.status = self.RUNNING
        self.started_at = now or timezone.now()
        self.save(update_fields=["status", "started_at"])

    def stop(self, now: datetime | None = None) -> None:
        """running → stopped; anything else is an ExperimentStateError."""
        if self.status != self.RUNNING:
            raise ExperimentStateError(
                f"only a running experiment can stop; this one is {self.status}"
            )
        self.status = self.STOPPED
        self.stopped_at = now or timezone.now()
        self.save(update_fields=["status", "stopped_at"])


class Exposure(models.Model):
    """A unit's first exposure to an experiment: its arm and when (kept on every repeat)."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="exposures")
    unit_id = models.CharField(max_length=200)
    arm = models.CharField(max_length=50)
    first_exposed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["experiment", "unit_id"], name="exposure_unit")
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} → {self.arm}"


class FiguresWindow(models.Model):
    """A closed window of whole hours [window_start, window_end) over a set of projects (one
    project, or every project a reader may see), whose skills' figures are stored in
    SkillWindowFigures rows: a read of the set sums no project's rows.

    Written by the analytics worker (`analytics.window_figures.recompute`) for the standard
    windows ending at its hour, each project alone, every project and each user's visible set;
    and by a read that finds none up to date (`analytics.window_figures.set_figures`). A read
    uses it while `checks` still equal its projects' invocations since the window's first UTC
    midnight (events are append-only: a late one shows); otherwise it is counted again.
    """

    projects_key = models.CharField(
        max_length=64, help_text="sha256 of the sorted project ids, comma-separated."
    )
    project_ids = models.JSONField(default=list, help_text="The set's project ids, sorted.")
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    checks = models.JSONField(
        default=dict,
        help_text="Project id → its invocations from window_start's UTC midnight to window_end,"
        " read before the figures were counted.",
    )
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["projects_key", "window_start", "window_end"], name="figureswindow_key"
            )
        ]
        indexes = [models.Index(fields=["window_end"], name="figureswindow_end")]

    def __str__(self) -> str:
        return (
            f"{len(self.project_ids)} projects {self.window_start:%Y-%m-%d %H}:00–"
            f"{self.window_end:%Y-%m-%d %H}:00"
        )


class SkillWindowFigures(models.Model):
    """A skill's figures over a stored window (`FiguresWindow`) of a set of projects: the
    additive totals of the rollups, and what cannot be summed from them cheaply: distinct
    sessions and named users (distinct counts do not add up across hours, and users not
    across projects), the window's duration histogram and phase counts (summing them reads a
    row per bucket and day: millions over 30 days of 20 busy projects).
    """

    window = models.ForeignKey(FiguresWindow, on_delete=models.CASCADE, related_name="skills")
    skill = models.CharField(max_length=200)
    invocations = models.PositiveIntegerField()
    completed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    duration_count = models.PositiveIntegerField(default=0)
    duration_sum = models.FloatField(default=0)
    duration_sumsq = models.FloatField(default=0)
    in_projects = models.JSONField(default=list, help_text="Ids of the projects that used it.")
    sessions = models.PositiveIntegerField()
    users = models.JSONField(default=list, help_text="Distinct non-empty Session.user_name.")
    durations = models.JSONField(default=dict, help_text="Duration bucket → count.")
    phases = models.JSONField(default=dict, help_text="Non-empty phase → count.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["window", "skill"], name="skillwindowfigures_key")
        ]
        verbose_name_plural = "skill window figures"

    def __str__(self) -> str:
        return f"{self.skill} in {self.window}"


class DependencyPass(models.Model):
    """One computation of a project's skill dependencies over a window of sessions.

    Written by `analytics.dependencies.refresh_dependencies` (the worker), one row per
    (project, days): a new pass replaces the old one with its pairs in one transaction.
    """

    # A project merge deletes it (tracking/merging.py); the worker computes it again.
    DERIVED_FROM_PROJECT = True

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    days = models.PositiveSmallIntegerField()
    window_start = models.DateTimeField(help_text="Sessions started at or after it…")
    window_end = models.DateTimeField(help_text="…and before it; their skills used before it.")
    n_sessions = models.PositiveIntegerField(help_text="N: sessions with at least one skill.")
    pairs_tested = models.PositiveIntegerField(help_text="Pairs in the BH family.")
    computed_at = models.DateTimeField()
    method = models.CharField(max_length=200)
    params = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "days"], name="dependencypass_key")
        ]

    def __str__(self) -> str:
        return f"{self.project_id}: {self.days} days to {self.window_end:%Y-%m-%d %H:%M}"


class SkillDependency(models.Model):
    """A pair of skills used in the same sessions, stored once with skill_a < skill_b.

    Only pairs that meet the minimum data (N ≥ 50 sessions, count_ab ≥ 5) are stored: they
    are the Benjamini–Hochberg family. Confidence and conviction are given both ways;
    a conviction is null where it is infinite (confidence 1).
    """

    run = models.ForeignKey(DependencyPass, on_delete=models.CASCADE, related_name="pairs")
    skill_a = models.CharField(max_length=200)
    skill_b = models.CharField(max_length=200)
    count_a = models.PositiveIntegerField()
    count_b = models.PositiveIntegerField()
    count_ab = models.PositiveIntegerField()
    support = models.FloatField()
    confidence_ab = models.FloatField()
    confidence_ba = models.FloatField()
    lift = models.FloatField()
    leverage = models.FloatField()
    conviction_ab = models.FloatField(null=True)
    conviction_ba = models.FloatField(null=True)
    jaccard = models.FloatField()
    p_value = models.FloatField()
    q_value = models.FloatField()
    band = models.CharField(max_length=10, blank=True, help_text="Empty unless q < 0.05.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run", "skill_a", "skill_b"], name="skilldependency_key"
            )
        ]
        indexes = [
            models.Index(fields=["run", "skill_b"], name="skilldependency_b"),
            # The few significant positive pairs of a pass, which IDE suggestions read.
            models.Index(
                fields=["run", "skill_a", "skill_b"],
                condition=Q(q_value__lt=0.05, lift__gt=1),  # dependencies.Q_MAX
                name="skilldependency_significant",
            ),
        ]
        verbose_name_plural = "skill dependencies"

    def __str__(self) -> str:
        return f"{self.skill_a} + {self.skill_b} (lift {self.lift:.2f})"


class ModelVersion(models.Model):
    """One trained success predictor of a project, with its evaluation (anchors §8 fields).

    The artefact is stored in the row (skops bytes, checked against artifact_sha256 on load),
    so every process reads the same model from the database. At most one active row per
    project; `reason` says why a version was not activated.
    """

    # A project merge deletes it (tracking/merging.py); the worker trains again.
    DERIVED_FROM_PROJECT = True

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()
    data_until = models.DateTimeField(help_text="Trained on the calls invoked before it.")
    trained_from = models.DateTimeField(null=True)
    trained_to = models.DateTimeField(null=True)
    n_train = models.PositiveIntegerField(default=0)
    n_calibration = models.PositiveIntegerField(default=0)
    n_test = models.PositiveIntegerField(default=0)
    n_decided = models.PositiveIntegerField(default=0, help_text="Decided rows available.")
    features = models.JSONField(default=list, help_text="Feature names in column order.")
    label = models.CharField(max_length=200)
    hyperparameters = models.JSONField(default=dict)
    sklearn_version = models.CharField(max_length=40)
    auc = models.FloatField(null=True)
    auc_ci_low = models.FloatField(null=True)
    auc_ci_high = models.FloatField(null=True)
    auc_ci_method = models.CharField(max_length=200, blank=True)
    brier = models.FloatField(null=True)
    brier_baseline = models.FloatField(null=True, help_text="Constant training base rate.")
    brier_per_skill = models.FloatField(null=True, help_text="Per-skill training rate.")
    auc_per_skill = models.FloatField(null=True)
    log_loss = models.FloatField(null=True)
    log_loss_baseline = models.FloatField(null=True)
    calibration_bins = models.JSONField(default=list)
    encoding = models.JSONField(default=dict, help_text="Category codes of skills and phases.")
    artifact = models.BinaryField(null=True)
    artifact_sha256 = models.CharField(max_length=64, blank=True)
    is_active = models.BooleanField(default=False)
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project"], condition=Q(is_active=True), name="modelversion_one_active"
            )
        ]
        indexes = [models.Index(fields=["project", "-created_at"], name="modelversion_latest")]

    def __str__(self) -> str:
        return (
            f"model {self.pk} of {self.project_id} ({'active' if self.is_active else 'inactive'})"
        )


class UsagePass(models.Model):
    """One computation of a project's user × skill matrix over the 90 days before
    `window_end`, for the recommendations.

    Written by `analytics.recommendations.refresh_usage` (the worker), hourly: a new pass
    replaces the project's old one with its rows in one transaction.
    """

    # A project merge deletes it (tracking/merging.py); the worker computes it again.
    DERIVED_FROM_PROJECT = True

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project"], name="usagepass_one")]

    def __str__(self) -> str:
        return f"{self.project_id}: users × skills to {self.window_end:%Y-%m-%d %H:%M}"


class UserSkillUse(models.Model):
    """A skill a named user tried in a usage pass's window, and whether they completed it at
    least once: one cell of the recommendations' matrix."""

    run = models.ForeignKey(UsagePass, on_delete=models.CASCADE, related_name="uses")
    user_name = models.CharField(max_length=200)
    skill = models.CharField(max_length=200)
    completed = models.BooleanField(help_text="Completed at least once in the window.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "user_name", "skill"], name="userskilluse_key")
        ]

    def __str__(self) -> str:
        return f"{self.user_name} {self.skill} ({'completed' if self.completed else 'tried'})"
