"""What Cairn keeps from Claude Code: its files' read positions, API requests, compactions."""

from __future__ import annotations

from django.db import models

from tracking.models import Project, Session


class TranscriptFile(models.Model):
    """How far one JSONL transcript has been read, so the next import reads only what is new."""

    path = models.CharField(max_length=1000, unique=True)
    session = models.ForeignKey(
        Session, null=True, blank=True, on_delete=models.SET_NULL, related_name="transcripts"
    )
    size = models.BigIntegerField(default=0)
    inode = models.BigIntegerField(null=True, blank=True)
    # Modification time (ns) when last read: same size, time and inode = unchanged, not read.
    mtime_ns = models.BigIntegerField(null=True, blank=True)
    # Hash of the first `head_length` bytes: a file rewritten in place no longer matches it.
    head_hash = models.CharField(max_length=64, blank=True)
    head_length = models.IntegerField(default=0)
    offset = models.BigIntegerField(default=0, help_text="Bytes read: always the end of a line.")
    lines_read = models.IntegerField(default=0)
    bad_lines = models.IntegerField(default=0)
    rewrites = models.IntegerField(default=0)
    # tool_use id -> [skill, tool_use timestamp, session pk], waiting for its tool_result.
    pending_tools = models.JSONField(default=dict, blank=True)
    imported_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.path


class ClaudeSession(models.Model):
    """Claude Code's own facts about a session."""

    session = models.OneToOneField(
        Session, primary_key=True, on_delete=models.CASCADE, related_name="claude"
    )
    # Claude Code's session id (with `:agent-<id>` for a subagent), whatever the project:
    # indexed, as Session's own external id is unique only within a project.
    claude_id = models.CharField(max_length=200, db_index=True, blank=True)
    cwd = models.CharField(max_length=1000, blank=True)
    version = models.CharField(max_length=50, blank=True)
    agent_id = models.CharField(max_length=100, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.session} ({self.version})"


# ApiRequest's token columns, in the order of accounting.USAGE_FIELDS.
TOKEN_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_creation_tokens",
    "cache_creation_5m_tokens",
    "cache_creation_1h_tokens",
    "cache_read_tokens",
)


class ApiRequest(models.Model):
    """One API response, counted once however many lines and files repeat it.

    Token fields hold the largest value any of its lines gave (Claude Code writes the usage
    again with every content block, the earlier ones with a partial output count).
    """

    message_id = models.CharField(max_length=100)
    request_id = models.CharField(max_length=100)
    # No index of its own: the (session, timestamp) index serves look-ups by session.
    session = models.ForeignKey(
        Session, on_delete=models.CASCADE, related_name="api_requests", db_index=False
    )
    model = models.CharField(max_length=100, blank=True)
    timestamp = models.DateTimeField()
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    cache_creation_tokens = models.BigIntegerField(default=0)
    cache_creation_5m_tokens = models.BigIntegerField(default=0)
    cache_creation_1h_tokens = models.BigIntegerField(default=0)
    cache_read_tokens = models.BigIntegerField(default=0)
    # Seen only relayed in the parent's `progress` records, not (yet) in the subagent's file.
    nested = models.BooleanField(default=False)
    # As Claude Code's OTLP `api_request` event reported them; null: not reported (a
    # transcript line has neither, until the same request arrives over OTLP).
    cost_usd = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    duration_ms = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message_id", "request_id"], name="api_request_key")
        ]
        indexes = [
            models.Index(fields=["session", "timestamp"], name="api_request_session_time"),
            # OTLP looks requests up by request id alone (the import's have a message id, its
            # own have none): without it each export scanned the whole table.
            models.Index(fields=["request_id"], name="api_request_request_id"),
        ]

    def __str__(self) -> str:
        return f"{self.message_id}/{self.request_id}"

    @property
    def context_tokens(self) -> int:
        """The context the model read for this turn."""
        return self.input_tokens + self.cache_read_tokens + self.cache_creation_tokens


class Compaction(models.Model):
    """A `compact_boundary`: Claude Code summarised the conversation to free its context."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="compactions")
    uuid = models.CharField(max_length=100, unique=True)
    timestamp = models.DateTimeField()
    trigger = models.CharField(max_length=20, blank=True)
    pre_tokens = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["timestamp"]

    def __str__(self) -> str:
        return f"{self.session_id} @ {self.timestamp}"


class ProjectRule(models.Model):
    """Sessions whose working folder is under `path_prefix` belong to `project`.

    Without a matching rule a session goes to the project named like its git repository's top
    folder (created when missing).
    """

    path_prefix = models.CharField(max_length=1000, unique=True)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="path_rules")

    def __str__(self) -> str:
        return f"{self.path_prefix} → {self.project.slug}"


class HookToolCall(models.Model):
    """A tool call announced by a PreToolUse hook, waiting for its PostToolUse.

    Keyed by tool_use id within the project of the key that sent it: another project's key
    sending the same id has a call of its own, never this one.
    """

    # No index of its own: the (project, tool_use_id) key serves look-ups by project.
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    tool_use_id = models.CharField(max_length=200)
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="+")
    skill = models.CharField(max_length=200)
    started_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "tool_use_id"], name="hook_tool_call_key")
        ]

    def __str__(self) -> str:
        return self.tool_use_id


# The CI models live with their integration; imported here so the app registers them.
from integrations.ci.models import (  # noqa: E402
    PipelineJob,
    PipelineRun,
    WebhookDelivery,
    WebhookSecret,
)
from integrations.crackerjack.models import CrackerjackRun  # noqa: E402
from integrations.ide.models import FileEdit  # noqa: E402

__all__ = [
    "CrackerjackRun",
    "FileEdit",
    "ApiRequest",
    "ClaudeSession",
    "Compaction",
    "HookToolCall",
    "PipelineJob",
    "PipelineRun",
    "ProjectRule",
    "TranscriptFile",
    "WebhookDelivery",
    "WebhookSecret",
]


class OtlpPoint(models.Model):
    """One data point of a Claude Code metric sent over OTLP, stored once however often the
    export is retried: unique on (series, start, time).

    A delta point is the change over (start, time]; a cumulative one the running total since
    start (a new start is a reset). A session's figure is therefore the sum of its delta
    values plus, per cumulative (series, start), the value at the latest time
    (`integrations/otlp/figures.py`), whatever order the exports arrived in.
    """

    DELTA, CUMULATIVE = 1, 2

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    session = models.ForeignKey(
        Session, on_delete=models.CASCADE, related_name="otlp_points", null=True, blank=True
    )
    # sha256 of the resource attributes, scope name, metric name and sorted point attributes.
    series = models.CharField(max_length=64)
    metric = models.CharField(max_length=100)
    # The point's `type` (tokens, lines, active time) or `decision` (edit decisions).
    kind = models.CharField(max_length=50, blank=True)
    model = models.CharField(max_length=100, blank=True)
    temporality = models.PositiveSmallIntegerField()
    start_ns = models.BigIntegerField()
    time_ns = models.BigIntegerField()
    value = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "series", "start_ns", "time_ns"], name="otlp_point_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.metric} {self.kind} {self.value}"


class OtlpEvent(models.Model):
    """One Claude Code event (an OTLP log record), stored once: `key` is a hash of what
    identifies it (session, name, sequence, prompt, tool use, request, time). `detail` keeps
    the event's figures, never prompt text unless OTLP_STORE_PROMPTS is on."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    session = models.ForeignKey(
        Session, on_delete=models.CASCADE, related_name="otlp_events", null=True, blank=True
    )
    key = models.CharField(max_length=64)
    name = models.CharField(max_length=50)
    time = models.DateTimeField()
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "key"], name="otlp_event_key")]

    def __str__(self) -> str:
        return f"{self.name} {self.time:%Y-%m-%d %H:%M:%S}"
