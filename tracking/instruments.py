"""Cairn's Prometheus metric families, all of them, and the labels they may carry.

Every layer that counts something (tracking's ingest, sessions and checkpoints; analytics'
worker and live side; integrations) imports its families from here, so a family is defined
once and `docs/metrics.md` has one place to be checked against.

Several processes: with `PROMETHEUS_MULTIPROC_DIR` set (scripts/run sets and wipes it) every
process writes its counts to files there and any process's `/metrics` serves the sum
(`tracking/metrics.py`). Gauges of process-local state are `livesum`: each process's
contribution leaves with it (`mark_process_dead` at exit, and `sweep_dead_processes` at start
for processes that were killed).

Labels are closed sets: free text maps to `other`, so no label can grow without bound. Ids
(session, tool use, commit, user) are never labels: they belong in Postgres.
"""

from __future__ import annotations

import atexit
import bisect
import contextlib
import math
import os
import re
import time
from collections import Counter as Tally
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client import multiprocess as _multiprocess

MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
MULTIPROCESS = bool(MULTIPROC_DIR)

# No `*_created` series beside each counter (as PROMETHEUS_DISABLE_CREATED_SERIES=True, which
# scripts/run sets): they double the series and nothing here reads them.
disable_created_metrics()

OTHER = "other"
UNKNOWN = "unknown"

# Closed label values. Each family below is pre-initialised with them, so a counter that is
# still zero is in the first scrape and a dashboard shows 0, not "no data".
INGEST_SOURCES = ("api", "hook", "transcript", "otlp", "webhook", "ci_upload", "crackerjack")
INGEST_OUTCOMES = ("accepted", "duplicate", "rejected")
REJECTION_REASONS = (
    "bad_request",
    "invalid_event",
    "too_large",
    "auth",
    "media_type",
    "rate_limited",
    OTHER,
)
AGENTS = ("claude-code", "codex", "cursor", "aider", "gemini-cli", OTHER, UNKNOWN)
CHECKPOINT_TRIGGERS = ("start", "manual", "auto", "end", "ci")
# The steps of `quality.measure.measure`, named by its progress messages' first word.
COLLECTORS = (
    "git",
    "files",
    "source",
    "secrets",
    "tests",
    "ruff",
    "bandit",
    "radon",
    "mypy",
    "services",
)
GATE_STATUSES = ("passed", "failed", "not_evaluated")
INVOCATION_OUTCOMES = ("completed", "failed", "undecided")
# Claude Code's built-in tools; every `mcp__server__tool` is `mcp`. An invocation of any other
# name is a skill and goes through the top-skills allow-list.
TOOLS = (
    "Agent",
    "Bash",
    "BashOutput",
    "Edit",
    "ExitPlanMode",
    "Glob",
    "Grep",
    "KillShell",
    "LS",
    "MultiEdit",
    "NotebookEdit",
    "NotebookRead",
    "Read",
    "SlashCommand",
    "Task",
    "TodoWrite",
    "WebFetch",
    "WebSearch",
    "Write",
    "mcp",
)
TOOL_SET = frozenset(TOOLS)
TOKEN_TYPES = ("input", "output", "cache_read", "cache_creation")
MODEL_FAMILIES = (
    "claude-opus",
    "claude-sonnet",
    "claude-haiku",
    "gpt",
    "o-series",
    "gemini",
    "synthetic",
    OTHER,
    UNKNOWN,
)
WEBHOOK_PROVIDERS = ("github", "gitlab")
WEBHOOK_EVENTS = ("workflow_run", "workflow_job", "pipeline", "job", "ping", OTHER)
WEBHOOK_OUTCOMES = ("accepted", "duplicate", "bad_signature", "ignored", "error")
CI_CONCLUSIONS = ("success", "failure", "cancelled", "timed_out", "skipped", OTHER)
ANOMALY_METRICS = ("completion_rate", "volume", "duration")
ANOMALY_TYPES = ("drop", "spike")
WORKERS = ("analytics",)
WORKER_OUTCOMES = ("success", "error")
# The `code` of every live error frame (docs/websocket-api.md, "Errors").
LIVE_REJECTION_REASONS = (
    "bad_json",
    "binary_not_supported",
    "unknown_type",
    "bad_request",
    "unknown_skill",
    "unknown_project",
    "message_too_large",
    "rate_limited",
    "unauthenticated",
    "forbidden",
    "server_error",
    OTHER,
)
LIVE_WRITE_PATHS = ("direct", "twisted", "asgi")

# Seconds: an ingest request is milliseconds, a tool call seconds to minutes, a collector up
# to the test run's timeout.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
INVOCATION_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
COLLECTOR_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)
CI_BUCKETS = (30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0)
LIVE_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def _live_gauge(name: str, documentation: str) -> Gauge:
    # livesum: the sum over the processes alive, each one's share leaves with it.
    return Gauge(name, documentation, multiprocess_mode="livesum")


# Ingest.
ingest_events = Counter(
    "cairn_ingest_events",
    "Invocation events received, by source and outcome (duplicates change nothing).",
    ["source", "outcome"],
)
ingest_rejections = Counter(
    "cairn_ingest_rejections",
    "Ingest requests or events refused, by source and reason.",
    ["source", "reason"],
)
ingest_request_duration = Histogram(
    "cairn_ingest_request_duration_seconds",
    "Time to answer one ingest request, by source.",
    ["source"],
    buckets=REQUEST_BUCKETS,
)
hook_transcripts_refused = Counter(
    "cairn_hook_transcripts_refused",
    "Transcripts a hook pointed at that are not its key's project's, left unread.",
)

# Sessions and checkpoints.
sessions_started = Counter("cairn_sessions_started", "Sessions created, by agent.", ["agent"])
sessions_ended = Counter("cairn_sessions_ended", "Sessions ended, by agent.", ["agent"])
checkpoints = Counter("cairn_checkpoints", "Checkpoints recorded, by trigger (kind).", ["trigger"])
checkpoint_collect_duration = Histogram(
    "cairn_checkpoint_collect_duration_seconds",
    "Time one collector took while measuring a repository for a checkpoint.",
    ["collector"],
    buckets=COLLECTOR_BUCKETS,
)
gate_evaluations = Counter(
    "cairn_quality_gate_evaluations",
    "Quality gate verdicts of recorded checkpoints, by status.",
    ["status"],
)

# Invocations: each is counted once, as a tool (Claude Code built-ins and MCP) or a skill.
tool_invocations = Counter(
    "cairn_tool_invocations",
    "Tool calls recorded (new ones only), by tool and outcome.",
    ["tool", "outcome"],
)
tool_invocation_duration = Histogram(
    "cairn_tool_invocation_duration_seconds",
    "Duration of recorded tool calls that have one, by tool.",
    ["tool"],
    buckets=INVOCATION_BUCKETS,
)
skill_invocations = Counter(
    "cairn_skill_invocations",
    "Skill invocations recorded (new ones only), by skill (top skills, else other) and outcome.",
    ["skill", "outcome"],
)
skill_invocation_duration = Histogram(
    "cairn_skill_invocation_duration_seconds",
    "Duration of recorded skill invocations that have one, by skill.",
    ["skill"],
    buckets=INVOCATION_BUCKETS,
)

# Tokens and cost.
tokens = Counter(
    "cairn_tokens",
    "Model tokens of recorded API requests, by model family and type.",
    ["model", "type"],
)
cost_usd = Counter(
    "cairn_cost_usd", "Cost in USD of recorded API requests, by model family.", ["model"]
)

# CI and webhooks (counted by the integrations that receive them).
webhook_deliveries = Counter(
    "cairn_webhook_deliveries",
    "Webhook deliveries received, by provider, event and outcome.",
    ["provider", "event", "outcome"],
)
ci_runs = Counter(
    "cairn_ci_runs", "CI runs completed, by provider and conclusion.", ["provider", "conclusion"]
)
ci_run_duration = Histogram(
    "cairn_ci_run_duration_seconds",
    "Duration of completed CI runs, by provider.",
    ["provider"],
    buckets=CI_BUCKETS,
)


# GitLab names its events by the hook (X-Gitlab-Event); the metric uses the object's kind.
GITLAB_EVENTS = {"Pipeline Hook": "pipeline", "Job Hook": "job"}


def count_webhook(provider: str, event: str, outcome: str) -> None:
    """One webhook delivery's answer; an event outside WEBHOOK_EVENTS is counted as "other"."""
    event = GITLAB_EVENTS.get(event, event)
    known = event if event in WEBHOOK_EVENTS else OTHER
    webhook_deliveries.labels(provider, known, outcome).inc()


def count_ci_run(provider: str, conclusion: str, duration_s: float | None) -> None:
    """A CI run that has just finished, with its duration when the provider gave one."""
    ci_runs.labels(provider, conclusion if conclusion in CI_CONCLUSIONS else OTHER).inc()
    if duration_s is not None and math.isfinite(duration_s) and duration_s >= 0:
        ci_run_duration.labels(provider).observe(duration_s)


# Analytics worker.
anomalies_detected = Counter(
    "cairn_anomalies_detected",
    "Anomalies opened by the analytics worker, by metric and type.",
    ["metric", "type"],
)
worker_runs = Counter(
    "cairn_worker_runs", "Worker runs, by worker and outcome.", ["worker", "outcome"]
)
analytics_worker_errors = Counter(
    "cairn_analytics_worker_errors", "Failed project evaluations of the analytics worker."
)

# Live WebSocket API.
live_connections = _live_gauge("cairn_live_connections", "Open /ws/live/ connections.")
live_fanout_members = _live_gauge(
    "cairn_live_fanout_members", "Clients in the fan-outs, each counted once per process."
)
live_frames_sent = Counter(
    "cairn_live_frames_sent", "Frames handed to live clients (metrics_update and events)."
)
live_frames_dropped = Counter(
    "cairn_live_frames_dropped", "Frames not sent to a client over its buffer limit."
)
live_frames_rejected = Counter(
    "cairn_live_frames_rejected",
    "Client frames answered with an error frame, by reason (the error code).",
    ["reason"],
)
live_frames_written = Counter(
    "cairn_live_frames_written",
    "Fan-out frames written to live clients, by path (direct, twisted, asgi).",
    ["path"],
)
live_slow_readers_closed = Counter(
    "cairn_live_slow_readers_closed", "Connections closed for not reading (4008)."
)
live_fanout_seconds = Histogram(
    "cairn_live_fanout_seconds",
    "Time to hand one frame to all local clients of its group.",
    buckets=LIVE_BUCKETS,
)
live_snapshot_build_seconds = Histogram(
    "cairn_live_snapshot_build_seconds",
    "Time to read and build one tick's snapshots from the rollups.",
    buckets=LIVE_BUCKETS[:-1],
)


def _preinitialise() -> None:
    """Create every closed-enum label set at zero, so each family is in the first scrape."""
    for source in INGEST_SOURCES:
        ingest_request_duration.labels(source)
        for outcome in INGEST_OUTCOMES:
            ingest_events.labels(source, outcome)
        for reason in REJECTION_REASONS:
            ingest_rejections.labels(source, reason)
    for agent in AGENTS:
        sessions_started.labels(agent)
        sessions_ended.labels(agent)
    for trigger in CHECKPOINT_TRIGGERS:
        checkpoints.labels(trigger)
    for collector in COLLECTORS:
        checkpoint_collect_duration.labels(collector)
    for status in GATE_STATUSES:
        gate_evaluations.labels(status)
    for tool in (*TOOLS, OTHER):
        tool_invocation_duration.labels(tool)
        for outcome in INVOCATION_OUTCOMES:
            tool_invocations.labels(tool, outcome)
    skill_invocation_duration.labels(OTHER)
    for outcome in INVOCATION_OUTCOMES:
        skill_invocations.labels(OTHER, outcome)
    for model in MODEL_FAMILIES:
        cost_usd.labels(model)
        for kind in TOKEN_TYPES:
            tokens.labels(model, kind)
    for provider in WEBHOOK_PROVIDERS:
        ci_run_duration.labels(provider)
        for event in WEBHOOK_EVENTS:
            for outcome in WEBHOOK_OUTCOMES:
                webhook_deliveries.labels(provider, event, outcome)
        for conclusion in CI_CONCLUSIONS:
            ci_runs.labels(provider, conclusion)
    for metric in ANOMALY_METRICS:
        for kind in ANOMALY_TYPES:
            anomalies_detected.labels(metric, kind)
    for worker in WORKERS:
        for outcome in WORKER_OUTCOMES:
            worker_runs.labels(worker, outcome)
    for reason in LIVE_REJECTION_REASONS:
        live_frames_rejected.labels(reason)
    for path in LIVE_WRITE_PATHS:
        live_frames_written.labels(path)


_preinitialise()


# Label values.


def one_of(value: str, allowed: Iterable[str]) -> str:
    """`value` if it is one of `allowed`, else `other`."""
    return value if value in allowed else OTHER


def agent_label(agent: str) -> str:
    """A session's agent as a label: a known agent (a subagent counts as its agent), `unknown`
    when blank, else `other`."""
    if not agent:
        return UNKNOWN
    name = agent.split(" ", 1)[0].lower()
    return name if name in AGENTS else OTHER


_FAMILIES = (
    ("claude-opus", re.compile(r"claude.*opus|opus")),
    ("claude-sonnet", re.compile(r"claude.*sonnet|sonnet")),
    ("claude-haiku", re.compile(r"claude.*haiku|haiku")),
    ("o-series", re.compile(r"^o\d")),
    ("gpt", re.compile(r"gpt")),
    ("gemini", re.compile(r"gemini")),
    ("synthetic", re.compile(r"^<synthetic>$")),
)


def model_family(model: str) -> str:
    """A model name as one of MODEL_FAMILIES: `claude-sonnet-4-5-20250929` → `claude-sonnet`."""
    name = model.strip().lower()
    if not name:
        return UNKNOWN
    for family, pattern in _FAMILIES:
        if pattern.search(name):
            return family
    return OTHER


def outcome_of(completed: bool | None) -> str:
    """An invocation's `completed` as an outcome label."""
    return "undecided" if completed is None else "completed" if completed else "failed"


class TopSkills:
    """The allow-list of skill labels: each project's most invoked skills of the last week
    (`METRICS_TOP_SKILLS` per project, `METRICS_MAX_PROJECTS` projects), read from the hourly
    rollups at most every `ttl` seconds. Every process reads the same rollups, so they label
    alike; a skill outside the list is `other`."""

    def __init__(self, ttl: float = 300.0) -> None:
        self.ttl = ttl
        self.names: frozenset[str] = frozenset()
        self.read_at = float("-inf")

    def allowed(self) -> frozenset[str]:
        """The allowed skill names; a failed read keeps the last list (counting must never
        fail the write it counts), and is tried again after `ttl`."""
        if time.monotonic() - self.read_at >= self.ttl:
            from django.db import DatabaseError

            self.read_at = time.monotonic()
            with contextlib.suppress(DatabaseError):
                self.names = self._read()
        return self.names

    def _read(self) -> frozenset[str]:
        from django.conf import settings
        from django.db.models import Sum
        from django.utils import timezone

        from tracking.models import SkillHourly

        since = timezone.now() - timedelta(days=7)
        rows = (
            SkillHourly.objects.filter(hour__gte=since)
            .values_list("project_id", "skill")
            .annotate(n=Sum("invocations"))
            .order_by("project_id", "-n", "skill")
        )
        per_project: dict[int, list[str]] = {}
        for project_id, skill, _ in rows.iterator():
            names = per_project.get(project_id)
            if names is None:
                if len(per_project) >= settings.METRICS_MAX_PROJECTS:
                    continue
                names = per_project[project_id] = []
            if len(names) < settings.METRICS_TOP_SKILLS:
                names.append(skill)
        return frozenset(name for names in per_project.values() for name in names)


top_skills = TopSkills()


# Counting.


def observe_many(histogram: Histogram, amounts: list[float]) -> None:
    """Observe many values at once: one increment per bucket touched instead of one per value
    (an ingest batch has up to thousands). The same result as `observe` for each value; it
    reaches into prometheus_client's child internals (`_sum`, `_buckets`, `_upper_bounds`,
    0.26), which tests/tracking/test_metric_counting.py holds to `observe`."""
    if not amounts:
        return
    bounds = histogram._upper_bounds
    # Buckets are stored per bucket (not cumulative): a value goes to the first bound >= it.
    for index, count in Tally(bisect.bisect_left(bounds, a) for a in amounts).items():
        histogram._buckets[index].inc(count)
    histogram._sum.inc(sum(amounts))


def count_invocations(source: str, events: Iterable, *, duplicates: int) -> None:
    """Count one stored batch: its events (new ones) by tool or skill and outcome, their
    durations, and the batch's accepted and duplicate totals. Called once per batch."""
    source = one_of(source, INGEST_SOURCES)
    skills = top_skills.allowed()
    tools: Tally[tuple[str, str]] = Tally()
    named: Tally[tuple[str, str]] = Tally()
    tool_durations: dict[str, list[float]] = {}
    skill_durations: dict[str, list[float]] = {}
    accepted = 0
    for event in events:
        accepted += 1
        name = event.skill
        if name in TOOL_SET or name.startswith("mcp__"):
            label = name if name in TOOL_SET else "mcp"
            tally, durations = tools, tool_durations
        else:
            label = name if name in skills else OTHER
            tally, durations = named, skill_durations
        tally[label, outcome_of(event.completed)] += 1
        if event.duration_s is not None:
            durations.setdefault(label, []).append(event.duration_s)
    if accepted:
        ingest_events.labels(source, "accepted").inc(accepted)
    if duplicates:
        ingest_events.labels(source, "duplicate").inc(duplicates)
    for (label, outcome), n in tools.items():
        tool_invocations.labels(label, outcome).inc(n)
    for (label, outcome), n in named.items():
        skill_invocations.labels(label, outcome).inc(n)
    for label, amounts in tool_durations.items():
        observe_many(tool_invocation_duration.labels(label), amounts)
    for label, amounts in skill_durations.items():
        observe_many(skill_invocation_duration.labels(label), amounts)


def count_rejection(source: str, reason: str, events: int = 1) -> None:
    """Count refused ingest: a whole request (`events=1`, the request) or invalid events of an
    accepted request (`invalid_event`, counted as outcome `rejected` too)."""
    source = one_of(source, INGEST_SOURCES)
    ingest_rejections.labels(source, one_of(reason, REJECTION_REASONS)).inc(events)
    if reason == "invalid_event":
        ingest_events.labels(source, "rejected").inc(events)


def count_tokens(by_model: dict[str, dict[str, int]], cost_by_model: dict[str, float]) -> None:
    """Count new tokens ({model: {type: n}}) and their cost ({model: USD}) by model family."""
    for model, counts in by_model.items():
        family = model_family(model)
        for kind, n in counts.items():
            if n > 0:
                tokens.labels(family, one_of(kind, TOKEN_TYPES)).inc(n)
    for model, usd in cost_by_model.items():
        if usd > 0:
            cost_usd.labels(model_family(model)).inc(usd)


def count_checkpoint(kind: str, verdict: str) -> None:
    """Count a recorded checkpoint by its kind, and its gate verdict ("" = not evaluated)."""
    checkpoints.labels(one_of(kind, CHECKPOINT_TRIGGERS)).inc()
    gate_evaluations.labels(one_of(verdict or "not_evaluated", GATE_STATUSES)).inc()


class CollectorTimer:
    """Times each collector of a measurement from its progress messages (`quality.measure`
    announces each step before it runs): a progress callback that observes the time between
    one step's message and the next's. Messages that name no collector (sub-steps of the test
    run) belong to the current step. Call `done()` after the measurement."""

    def __init__(self, progress=None) -> None:
        self.progress = progress
        self.step: str | None = None
        self.started = 0.0

    def __call__(self, message: str) -> None:
        word = message.split(" ", 1)[0].rstrip(":").lower()
        step = {"secret": "secrets", "coverage": "tests"}.get(word, word)
        if step in COLLECTORS and step != self.step:
            self.done()
            self.step, self.started = step, time.perf_counter()
        if self.progress is not None:
            self.progress(message)

    def done(self) -> None:
        if self.step is not None:
            checkpoint_collect_duration.labels(self.step).observe(
                time.perf_counter() - self.started
            )
            self.step = None


# Processes.

_LIVE_FILE = re.compile(r"^gauge_live\w+?_(\d+)\.db$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_dead_processes(directory: str | Path = MULTIPROC_DIR) -> list[int]:
    """Remove the live-gauge files of processes that are gone (killed, so no `atexit` ran);
    the pids swept. Counter and histogram files stay: removing them would make counters go
    backwards (prometheus_client's multiprocess docs)."""
    if not directory:
        return []
    dead = set()
    for path in Path(directory).glob("gauge_live*.db"):
        match = _LIVE_FILE.match(path.name)
        if match and not _alive(int(match.group(1))):
            dead.add(int(match.group(1)))
    for pid in sorted(dead):
        _multiprocess.mark_process_dead(pid, str(directory))
    return sorted(dead)


_started = False


def start_process() -> None:
    """In multiprocess mode: sweep the files of dead processes, and mark this one dead when it
    exits. Once per process (AppConfig.ready)."""
    global _started
    if not MULTIPROCESS or _started:
        return
    _started = True
    sweep_dead_processes()
    pid = os.getpid()
    atexit.register(_multiprocess.mark_process_dead, pid, MULTIPROC_DIR)
