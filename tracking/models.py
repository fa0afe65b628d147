"""The domain: projects, their sessions and checkpoints, measurements and skill events."""

from __future__ import annotations

import hashlib
import secrets
from functools import cache
from zoneinfo import available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone


class Project(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    repository_url = models.CharField(max_length=500, blank=True)
    default_branch = models.CharField(max_length=200, default="main")
    # Quality gate conditions: [{"metric": "tests.failed", "op": "<=", "threshold": 0}, ...];
    # empty means the defaults in quality.gates.
    gate_config = models.JSONField(default=list, blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="projects")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("project-detail", args=[self.slug])

    def create_api_key(self, *, scope: str = "write", name: str = "") -> tuple[ApiKey, str]:
        """Create a key and return it with its plain text, which is never stored."""
        plain = ApiKey.PREFIX + secrets.token_urlsafe(32)
        key = ApiKey.objects.create(
            project=self, scope=scope, name=name, prefix=plain[:12], key_hash=ApiKey.hash(plain)
        )
        return key, plain


class ApiKey(models.Model):
    PREFIX = "cairn_"
    WRITE = "write"
    READ = "read"
    SCOPES = [(WRITE, "write"), (READ, "read-only")]

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True)
    scope = models.CharField(max_length=10, choices=SCOPES, default=WRITE)
    prefix = models.CharField(max_length=12, help_text="First characters, to tell keys apart.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.scope})"

    @staticmethod
    def hash(plain: str) -> str:
        # Keys carry 256 random bits: a fast unsalted hash already makes a leaked table useless.
        return hashlib.sha256(plain.encode()).hexdigest()

    @classmethod
    def lookup(cls, plain: str) -> ApiKey | None:
        """The active key with this plain text, or None."""
        return (
            cls.objects.select_related("project")
            .filter(key_hash=cls.hash(plain), revoked_at__isnull=True)
            .first()
        )

    @property
    def can_write(self) -> bool:
        return self.scope == self.WRITE

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def revoke(self) -> bool:
        """Stop the key from working from now on; False if it was revoked already."""
        changed = ApiKey.objects.filter(pk=self.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        self.refresh_from_db(fields=["revoked_at"])
        return bool(changed)

    def rotate(self) -> tuple[ApiKey, str]:
        """A new key with this one's project, scope and name, and this one revoked, together;
        returns the new key and its plain text (shown once)."""
        with transaction.atomic():
            if not self.revoke():
                raise ValueError(f"key {self.prefix}… is revoked already")
            return self.project.create_api_key(scope=self.scope, name=self.name)


class Session(models.Model):
    ACTIVE = "active"
    ENDED = "ended"
    STATUSES = [(ACTIVE, "active"), (ENDED, "ended")]

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="sessions")
    external_id = models.CharField(max_length=200)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    agent = models.CharField(max_length=100, blank=True)
    user_name = models.CharField(max_length=200, blank=True)
    host = models.CharField(max_length=200, blank=True)
    branch = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=STATUSES, default=ACTIVE)
    start_commit = models.CharField(max_length=64, blank=True)
    end_commit = models.CharField(max_length=64, blank=True)
    models_used = models.JSONField(default=list, blank=True)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    cache_creation_tokens = models.BigIntegerField(default=0)
    cache_read_tokens = models.BigIntegerField(default=0)
    # None = cost not known (a model without a price), never 0.
    cost_usd = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    context_tokens_last = models.BigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "external_id"], name="session_external_id")
        ]
        indexes = [
            models.Index(fields=["project", "-started_at"], name="session_project_started"),
            models.Index(fields=["status", "-started_at"], name="session_status_started"),
        ]
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return self.external_id

    def get_absolute_url(self) -> str:
        return reverse("session-detail", args=[self.project.slug, self.pk])

    @property
    def total_tokens(self) -> int:
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_creation_tokens
            + self.cache_read_tokens
        )

    @property
    def tokens_measured(self) -> bool:
        """Whether any model usage was recorded. Every API request reads or writes tokens, so
        all-zero totals mean no transcript or hook reported usage: not measured, not 0."""
        return self.total_tokens > 0

    @property
    def duration(self):
        return (self.ended_at - self.started_at) if self.ended_at else None


class Checkpoint(models.Model):
    KINDS = [(k, k) for k in ("start", "manual", "auto", "end", "ci")]
    PASSED = "passed"
    FAILED = "failed"
    VERDICTS = [(PASSED, "passed"), (FAILED, "failed")]

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="checkpoints")
    session = models.ForeignKey(
        Session, null=True, blank=True, on_delete=models.CASCADE, related_name="checkpoints"
    )
    kind = models.CharField(max_length=10, choices=KINDS, default="manual")
    commit = models.CharField(max_length=64, blank=True)
    branch = models.CharField(max_length=200, blank=True)
    dirty = models.BooleanField(null=True, blank=True)
    # Scores are None when not measured; points_measured says out of how many of 100 the
    # total was scaled.
    score_total = models.FloatField(null=True, blank=True)
    score_code_quality = models.FloatField(null=True, blank=True)
    score_project_health = models.FloatField(null=True, blank=True)
    score_dev_velocity = models.FloatField(null=True, blank=True)
    score_security = models.FloatField(null=True, blank=True)
    points_measured = models.FloatField(null=True, blank=True)
    stars = models.PositiveSmallIntegerField(null=True, blank=True)
    label = models.CharField(max_length=40, blank=True)
    gate_verdict = models.CharField(max_length=10, choices=VERDICTS, blank=True)
    gate_results = models.JSONField(default=list, blank=True)
    debt_level = models.CharField(max_length=2, blank=True)
    debt_minutes = models.PositiveIntegerField(null=True, blank=True)
    recommendations = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["project", "-created_at"], name="checkpoint_project_created"),
            models.Index(fields=["session", "created_at"], name="checkpoint_session_created"),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} checkpoint #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("checkpoint-detail", args=[self.project.slug, self.pk])

    @property
    def gate_passed(self) -> bool | None:
        return {self.PASSED: True, self.FAILED: False}.get(self.gate_verdict)


class Measurement(models.Model):
    checkpoint = models.ForeignKey(
        Checkpoint, on_delete=models.CASCADE, related_name="measurements"
    )
    key = models.CharField(max_length=100)
    # None = not measured; `reason` then says why.
    value = models.FloatField(null=True, blank=True)
    unit = models.CharField(max_length=20, blank=True)
    tool = models.CharField(max_length=100, blank=True)
    tool_version = models.CharField(max_length=100, blank=True)
    artefact = models.CharField(max_length=500, blank=True)
    measured_at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["checkpoint", "key"], name="measurement_checkpoint_key")
        ]
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.key}={self.value if self.value is not None else 'not measured'}"

    @property
    def measured(self) -> bool:
        return self.value is not None


class SkillInvocation(models.Model):
    """Append-only: one tool or skill call. Never updated after insert."""

    SOURCES = [(s, s) for s in ("api", "transcript", "hook", "ci", "crackerjack", "otlp")]

    # No index of their own: the indexes below start with them, and every index costs each
    # insert of the busiest table.
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="invocations", db_index=False
    )
    session = models.ForeignKey(
        Session,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="invocations",
        db_index=False,
    )
    skill = models.CharField(max_length=200)
    invoked_at = models.DateTimeField()
    # None = outcome not known (undecided); counts neither as completed nor failed.
    completed = models.BooleanField(null=True, blank=True)
    duration_s = models.FloatField(null=True, blank=True)
    phase = models.CharField(max_length=100, blank=True)
    error_type = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=20, choices=SOURCES, default="api")
    idempotency_key = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "idempotency_key"], name="invocation_idempotency_key"
            )
        ]
        indexes = [
            models.Index(fields=["project", "-invoked_at"], name="invocation_project_time"),
            models.Index(fields=["project", "skill", "-invoked_at"], name="invocation_skill_time"),
            # A session's calls in time order, covering what is read of each: the IDE
            # suggestions read the first calls after each file edit, and an experiment's
            # results every call of its units' sessions (a million at 10,000 units), from the
            # index alone instead of a heap fetch per call (3.3 s → 0.6 s for the results,
            # docs/benchmarks.md).
            models.Index(
                fields=["session", "invoked_at", "id"],
                include=["skill", "completed", "duration_s"],
                name="invocation_session_calls",
            ),
        ]
        ordering = ["-invoked_at"]

    def __str__(self) -> str:
        return f"{self.skill} @ {self.invoked_at:%Y-%m-%d %H:%M}"


class SkillCounts(models.Model):
    """The additive counts of a skill's rollup row, hourly or daily: invocations, outcomes, and
    the count, sum and sum of squares of durations (mean and variance without the events)."""

    invocations = models.PositiveIntegerField(default=0)
    completed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    duration_count = models.PositiveIntegerField(default=0)
    duration_sum = models.FloatField(default=0)
    duration_sumsq = models.FloatField(default=0)

    class Meta:
        abstract = True

    @property
    def completion_rate(self) -> float | None:
        decided = self.completed + self.failed
        return self.completed / decided if decided else None


class SkillHourly(SkillCounts):
    """Exact per-hour rollup of SkillInvocation, written in the same transaction as the events.

    Holds what statistics need without scanning events: counts, outcome counts, and the count,
    sum and sum of squares of durations (mean and variance), plus distinct sessions.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="skill_hours")
    skill = models.CharField(max_length=200)
    hour = models.DateTimeField()
    unique_sessions = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "skill", "hour"], name="skillhourly_key")
        ]
        indexes = [models.Index(fields=["hour"], name="skillhourly_hour")]
        verbose_name_plural = "skill hourly rollups"

    def __str__(self) -> str:
        return f"{self.skill} {self.hour:%Y-%m-%d %H}:00"


class SkillDurationBucket(models.Model):
    """Per-hour duration histogram of a skill: how many durations fell in each log-spaced bucket
    (`lib.buckets`). Sparse (only buckets with a count) and exact to add, like SkillHourly, so
    window percentiles come from the rollup, never from the event log."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    skill = models.CharField(max_length=200)
    hour = models.DateTimeField()
    bucket = models.PositiveSmallIntegerField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "skill", "hour", "bucket"], name="skilldurationbucket_key"
            )
        ]
        indexes = [
            models.Index(fields=["project", "hour"], name="skilldurationbucket_hour"),
        ]

    def __str__(self) -> str:
        return f"{self.skill} {self.hour:%Y-%m-%d %H}:00 bucket {self.bucket}"


class SkillPhaseHour(models.Model):
    """Per-hour invocation count of a skill in each phase (the empty phase included), for the
    most common phase of a window without scanning events."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    skill = models.CharField(max_length=200)
    hour = models.DateTimeField()
    phase = models.CharField(max_length=100, blank=True)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "skill", "hour", "phase"], name="skillphasehour_key"
            )
        ]
        indexes = [models.Index(fields=["project", "hour"], name="skillphasehour_hour")]

    def __str__(self) -> str:
        return f"{self.skill} {self.hour:%Y-%m-%d %H}:00 {self.phase or '(no phase)'}"


class SkillSessionHour(models.Model):
    """Which sessions used a skill in an hour: makes SkillHourly.unique_sessions exact under
    concurrent writers (an insert that conflicts adds nothing)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    skill = models.CharField(max_length=200)
    hour = models.DateTimeField()
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "skill", "hour", "session"], name="skillsessionhour_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.skill} {self.hour:%Y-%m-%d %H}:00 session {self.session_id}"


class SkillDaily(SkillCounts):
    """The daily tier of SkillHourly: the same additive counts per (project, skill, UTC day),
    upserted by ingest in the same transaction as the hourly rows, so a window's whole days
    are read as one row each instead of 24. Distinct sessions do not add up across hours and
    are not kept here (they come from SkillSessionHour)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    skill = models.CharField(max_length=200)
    day = models.DateField(help_text="The UTC calendar day.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "skill", "day"], name="skilldaily_key")
        ]
        indexes = [
            # The invocations too: a stored window's check sums them per project and day
            # range from the index alone (analytics.window_figures.check_sums).
            models.Index(
                fields=["project", "day"], include=["invocations"], name="skilldaily_project_day"
            )
        ]
        verbose_name_plural = "skill daily rollups"

    def __str__(self) -> str:
        return f"{self.skill} {self.day:%Y-%m-%d}"


class SkillDurationBucketDay(models.Model):
    """The daily tier of SkillDurationBucket: durations per log-spaced bucket and UTC day."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    skill = models.CharField(max_length=200)
    day = models.DateField()
    bucket = models.PositiveSmallIntegerField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "skill", "day", "bucket"], name="skilldurationbucketday_key"
            )
        ]
        indexes = [models.Index(fields=["project", "day"], name="skilldurationbucketday_day")]

    def __str__(self) -> str:
        return f"{self.skill} {self.day:%Y-%m-%d} bucket {self.bucket}"


class SkillPhaseDay(models.Model):
    """The daily tier of SkillPhaseHour: invocations per phase and UTC day."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    skill = models.CharField(max_length=200)
    day = models.DateField()
    phase = models.CharField(max_length=100, blank=True)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "skill", "day", "phase"], name="skillphaseday_key"
            )
        ]
        indexes = [models.Index(fields=["project", "day"], name="skillphaseday_day")]

    def __str__(self) -> str:
        return f"{self.skill} {self.day:%Y-%m-%d} {self.phase or '(no phase)'}"


class SessionRollup(models.Model):
    """Per-session counts kept by ingest with the events (same transaction), so session
    analytics never count the event log: today the number of tool calls (invocations)."""

    session = models.OneToOneField(
        Session, on_delete=models.CASCADE, primary_key=True, related_name="rollup"
    )
    invocations = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"session {self.session_id}: {self.invocations} invocations"


@cache
def available_zones() -> frozenset[str]:
    """The zone names this machine's tz database has (read once: it walks the database)."""
    return frozenset(available_timezones())


def validate_time_zone(name: str) -> None:
    """A zone name the IANA database knows ("Europe/Berlin"); blank means the site's zone."""
    if name and name not in available_zones():
        raise ValidationError(f"“{name}” is not a time zone name such as Europe/Berlin or UTC.")


class Preferences(models.Model):
    """A person's own display settings. Times on every page (and the admin) are shown in
    `time_zone`; blank falls back to the site's `CAIRN_DISPLAY_TZ`."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cairn_preferences"
    )
    time_zone = models.CharField(
        max_length=64, blank=True, validators=[validate_time_zone], help_text="Blank: the site's."
    )

    class Meta:
        verbose_name_plural = "preferences"

    def __str__(self) -> str:
        return f"{self.user}: {self.time_zone or 'site zone'}"
