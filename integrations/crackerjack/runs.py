"""A crackerjack run → skill invocations (one per hook) and a checkpoint (its measurements).

The body is the one of monitoring-integrations.md ("POST /api/crackerjack/runs"):
`{run_id, phases: [{phase, status, duration_seconds, hooks: [{name, stage, status, duration,
issues_count}]}], quality_gate?}` with the QualityGateReport of crackerjack's
`models/validation_contracts.py`. Optional `started_at`, `commit` and `branch` say when and on
what it ran.

- Each hook is an invocation: phase from the reference's PHASE_MAPPING, its real duration (the
  reference dropped it), `issues:<n>` as the error type when it reported issues. A phase
  without hooks is one invocation named `crackerjack:<phase>`. crackerjack records no time per
  hook: every invocation of a run is at the run's start.
- The run is a checkpoint (kind `auto`) whose measurements come from the report: coverage,
  gate verdict and checks, with crackerjack as their source.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import serializers

from integrations.crackerjack.models import CrackerjackRun
from lib.ranges import check_count, check_duration, is_finite
from quality.collectors.base import Reading, Source, measured, not_measured
from quality.collectors.git import GitInfo
from tracking.api.fields import AwareDateTimeField, TextField
from tracking.checkpoints import checkpoint_record
from tracking.ingest import InvocationEvent, record_invocations
from tracking.models import Project, Session
from tracking.sessions import session_end

SOURCE = "crackerjack"
# session-buddy's crackerjack_hooks.py PHASE_MAPPING.
PHASE_MAPPING = {
    "fast_hooks": "setup",
    "tests": "execution",
    "comprehensive_hooks": "verification",
    "ai_fix": "execution",
}
PASSED = {"passed", "success", "ok"}
FAILED = {"failed", "failure", "error", "timeout", "timed_out"}
NOT_RUN = {"skipped"}
GATE_KEYS = (
    "crackerjack.gate_passed",
    "crackerjack.checks_passed",
    "crackerjack.checks_failed",
    "crackerjack.required_failures",
)


class DurationField(serializers.FloatField):
    """Seconds inside `lib.ranges`' duration range (finite, not negative)."""

    def to_internal_value(self, data) -> float:
        try:
            return check_duration(data, self.field_name or "duration")
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None


class CountField(serializers.IntegerField):
    """A count (`lib.ranges.check_count`): an integer, never a string or a boolean."""

    def to_internal_value(self, data) -> int:
        try:
            return check_count(data, self.field_name or "count")
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None


class NumberField(serializers.FloatField):
    """A finite JSON number (not a string, not a boolean), within the field's bounds."""

    def to_internal_value(self, data) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float) or not is_finite(data):
            raise serializers.ValidationError("Must be a finite number.")
        return super().to_internal_value(data)


class HookSerializer(serializers.Serializer):
    name = TextField(max_length=200)
    stage = TextField(max_length=50, required=False, allow_blank=True, default="")
    status = TextField(max_length=50)
    duration = DurationField(required=False, allow_null=True, default=None)
    issues_count = CountField(default=0)


class PhaseSerializer(serializers.Serializer):
    phase = serializers.ChoiceField(choices=sorted(PHASE_MAPPING))
    status = TextField(max_length=50)
    duration_seconds = DurationField(required=False, allow_null=True, default=None)
    hooks = serializers.ListField(
        child=HookSerializer(), required=False, default=list, max_length=1000
    )


class GateCheckSerializer(serializers.Serializer):
    name = TextField(max_length=200)
    passed = serializers.BooleanField()
    severity = serializers.ChoiceField(["required", "warning", "optional"], default="required")
    score = NumberField(required=False, allow_null=True, default=None)
    threshold = NumberField(required=False, allow_null=True, default=None)
    message = TextField(required=False, allow_blank=True, default="", max_length=2000)
    duration_ms = NumberField(min_value=0, required=False, allow_null=True, default=None)


class QualityGateSerializer(serializers.Serializer):
    """The QualityGateReport fields Cairn reads; the others are accepted and not kept."""

    passed = serializers.BooleanField()
    coverage = NumberField(
        min_value=0, max_value=100, required=False, allow_null=True, default=None
    )
    checks = serializers.ListField(
        child=GateCheckSerializer(), required=False, default=list, max_length=1000
    )
    generated_at = AwareDateTimeField(required=False, allow_null=True, default=None)
    profile = TextField(required=False, allow_blank=True, default="", max_length=100)


class CrackerjackRunSerializer(serializers.Serializer):
    run_id = serializers.RegexField(r"^[A-Za-z0-9._:-]{1,120}$", max_length=120)
    started_at = AwareDateTimeField(happened=True, required=False, allow_null=True, default=None)
    commit = serializers.RegexField(
        r"^[0-9a-fA-F]{4,64}$", required=False, allow_blank=True, default=""
    )
    branch = TextField(required=False, allow_blank=True, default="", max_length=200)
    phases = serializers.ListField(child=PhaseSerializer(), allow_empty=False, max_length=100)
    quality_gate = QualityGateSerializer(required=False, allow_null=True, default=None)


@dataclass(frozen=True)
class Recorded:
    run: CrackerjackRun
    created: bool
    invocations: int


def outcome_of(status: str) -> bool | None:
    """A crackerjack status as an outcome: passed True, failed or timed out False, else None."""
    status = status.lower()
    if status in PASSED:
        return True
    if status in FAILED:
        return False
    return None


def invocations_of(data: dict, started_at: datetime) -> list[InvocationEvent]:
    """One event per hook (or per phase without hooks) of a validated run."""
    run_id = data["run_id"]
    session = f"crackerjack:{run_id}"
    events = []
    for phase in data["phases"]:
        name = phase["phase"]
        hooks = phase["hooks"] or [
            {
                "name": f"crackerjack:{name}",
                "status": phase["status"],
                "duration": phase["duration_seconds"],
                "issues_count": 0,
            }
        ]
        for index, hook in enumerate(hooks):
            if hook["status"].lower() in NOT_RUN:
                continue
            outcome = outcome_of(hook["status"])
            issues = hook.get("issues_count") or 0
            error = f"issues:{issues}" if issues else ("" if outcome else hook["status"].lower())
            events.append(
                InvocationEvent(
                    key=f"crackerjack:{run_id}:{name}:{index}",
                    session=session,
                    skill=hook["name"],
                    invoked_at=started_at,
                    completed=outcome,
                    duration_s=hook["duration"],
                    phase=PHASE_MAPPING[name],
                    error_type=error[:200],
                )
            )
    return events


def readings_of(data: dict, run_id: str, artefact: str) -> list[Reading]:
    """The run's measurements, from its quality-gate report and its hooks."""
    gate = data.get("quality_gate")
    when = (gate or {}).get("generated_at") or timezone.now()
    source = Source(
        tool="crackerjack", artefact=artefact or f"crackerjack run {run_id}", measured_at=when
    )
    hooks = [h for p in data["phases"] for h in p["hooks"]]
    readings: list[Reading] = []
    if hooks:
        failed = [h["name"] for h in hooks if outcome_of(h["status"]) is False]
        by_hook = {h["name"]: h["issues_count"] for h in hooks if h["issues_count"]}
        readings.append(measured("crackerjack.hooks_failed", len(failed), source, names=failed))
        issues = sum(h["issues_count"] for h in hooks)
        readings.append(measured("crackerjack.hook_issues", issues, source, by_hook=by_hook))
    else:
        readings += not_measured(
            ["crackerjack.hooks_failed", "crackerjack.hook_issues"],
            source,
            "the run sent no hook results",
        )
    if gate is None:
        reason = "the run sent no quality-gate report"
        return readings + not_measured(["coverage.line_percent", *GATE_KEYS], source, reason)
    if gate["coverage"] is None:
        readings += not_measured(
            ["coverage.line_percent"], source, "the quality-gate report has no coverage"
        )
    else:
        readings.append(measured("coverage.line_percent", gate["coverage"], source))
    checks = gate["checks"]
    passed = [c["name"] for c in checks if c["passed"]]
    failed_checks = [c for c in checks if not c["passed"]]
    readings.append(measured("crackerjack.gate_passed", gate["passed"], source))
    shown = ("name", "passed", "severity", "score", "threshold")
    summary = [{k: c[k] for k in shown} for c in checks]
    readings.append(measured("crackerjack.checks_passed", len(passed), source, checks=summary))
    readings.append(
        measured(
            "crackerjack.checks_failed",
            len(failed_checks),
            source,
            names=[c["name"] for c in failed_checks],
        )
    )
    required = sum(1 for c in failed_checks if c["severity"] == "required")
    readings.append(measured("crackerjack.required_failures", required, source))
    return readings


def record_run(project: Project, data: dict, *, source: str, artefact: str = "") -> Recorded:
    """Store a validated run once: its invocations, its checkpoint and its row, atomically. A
    run_id the project has already is answered with the stored run, and nothing is added."""
    existing = CrackerjackRun.objects.filter(project=project, run_id=data["run_id"]).first()
    if existing is not None:
        return Recorded(existing, False, 0)
    started = (
        data.get("started_at")
        or (data.get("quality_gate") or {}).get("generated_at")
        or timezone.now()
    )
    try:
        with transaction.atomic():
            run = CrackerjackRun.objects.create(
                project=project,
                run_id=data["run_id"],
                source=source,
                artefact=artefact[:500],
                started_at=started,
                phases=_jsonable_phases(data["phases"]),
                gate_passed=(data.get("quality_gate") or {}).get("passed"),
            )
            result = record_invocations(project, invocations_of(data, started), source=SOURCE)
            checkpoint = checkpoint_record(
                project=project,
                readings=readings_of(data, data["run_id"], artefact),
                git=GitInfo(head=data.get("commit", ""), branch=data.get("branch", "")),
                kind="auto",
                created_at=started,
            )
            run.checkpoint = checkpoint
            run.save(update_fields=["checkpoint"])
            _end_session(project, data, started)
    except IntegrityError:
        # The same run_id sent concurrently: the other request stored it.
        return Recorded(
            CrackerjackRun.objects.get(project=project, run_id=data["run_id"]), False, 0
        )
    return Recorded(run, True, result.accepted)


def _jsonable_phases(phases: list[dict]) -> list[dict]:
    return [{**p, "hooks": [dict(h) for h in p["hooks"]]} for p in phases]


def _end_session(project: Project, data: dict, started: datetime) -> None:
    session = Session.objects.filter(
        project=project, external_id=f"crackerjack:{data['run_id']}"
    ).first()
    if session is None:
        return
    total = sum(p["duration_seconds"] or 0.0 for p in data["phases"])
    session_end(
        session=session,
        end_commit=data.get("commit", ""),
        ended_at=started + timedelta(seconds=total),
    )
