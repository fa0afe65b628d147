"""`checkpoint_record`: the one way to store a Checkpoint with its Measurements.

Score, gates, debt and recommendations are computed here from the readings, against the
session's start checkpoint ("new code" deltas), and stored in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from lib.ranges import PERCENT_MAX, is_finite
from quality import debt as debt_
from quality import gates, score
from quality.collectors import git as git_collector
from quality.collectors.base import Reading, Source, measured, not_measured
from quality.collectors.git import GitInfo
from quality.measure import Artefacts, measure
from quality.observations import Observations, Observed, from_readings
from quality.recommendations import recommend
from tracking import events, instruments
from tracking.models import Checkpoint, Measurement, Project, Session
from tracking.sessions import SessionStart, session_end, session_start


@dataclass(frozen=True)
class Baseline:
    """What "new code" is measured against: the session's start checkpoint, if any."""

    checkpoint: Checkpoint | None
    commit: str
    observations: Observations | None


def session_baseline(session: Session | None) -> Baseline:
    """The session's start checkpoint (its first of kind start, else its first), and its commit;
    without one, the session's recorded start commit."""
    if session is None:
        return Baseline(None, "", None)
    checkpoints = session.checkpoints.order_by("created_at", "pk")
    start = checkpoints.filter(kind="start").first() or checkpoints.first()
    if start is None:
        return Baseline(None, session.start_commit, None)
    return Baseline(start, start.commit or session.start_commit, observations_of(start))


def observations_of(checkpoint: Checkpoint) -> Observations:
    return {m.key: Observed.from_measurement(m) for m in checkpoint.measurements.all()}


def derived_readings(
    readings: list[Reading], session: Session | None, baseline: Baseline, *, is_start: bool
) -> list[Reading]:
    """Readings that need the session: tests created since the start, context size.

    A session's start checkpoint is its own baseline: it created no tests.
    """
    extra: list[Reading] = []
    now = {r.key: r for r in readings}
    total = now.get("tests.total")
    source = Source(tool="cairn", artefact="tests.total ids vs the session start checkpoint")
    before = baseline.observations.get("tests.total") if baseline.observations else None
    if is_start and total is not None:
        before = Observed.from_reading(total)
    if total is None or total.value is None:
        extra += not_measured(["tests.created"], source, "tests were not measured")
    elif before is None or before.value is None:
        reason = (
            "no session start checkpoint"
            if baseline.checkpoint is None
            else "tests were not measured at the session start"
        )
        extra += not_measured(["tests.created"], source, reason)
    else:
        created = sorted(set(total.detail.get("ids", [])) - set(before.detail.get("ids", [])))
        extra.append(measured("tests.created", len(created), source, ids=created[:200]))
    if session is not None and session.context_tokens_last is not None:
        transcript = Source(tool="transcript", artefact=f"session {session.external_id}")
        extra.append(measured("session.context_tokens", session.context_tokens_last, transcript))
    return extra


def checkpoint_record(
    *,
    project: Project,
    readings: list[Reading],
    git: GitInfo | None = None,
    session: Session | None = None,
    kind: str = "manual",
    created_at: datetime | None = None,
) -> Checkpoint:
    """Store a checkpoint and its measurements; compute and store its score, gate verdict,
    debt and recommendations. Raises ValueError for a bad project gate configuration."""
    git = git or GitInfo()
    conditions = gates.validate(project.gate_config)
    with transaction.atomic():
        baseline = session_baseline(session)
        is_start = session is not None and baseline.checkpoint is None and kind == "start"
        readings = readings + derived_readings(readings, session, baseline, is_start=is_start)
        # Before the score: one NaN would make the score, and every answer showing it, NaN.
        readings = [storable(r) for r in readings]
        observations = from_readings(readings)
        # A session's first checkpoint is its own baseline: coverage is compared with itself.
        base_obs = baseline.observations if baseline.checkpoint else None
        if is_start:
            base_obs = observations
        result = score.compute(observations)
        verdict, conditions_result = gates.evaluate(
            conditions, observations, base_obs, in_session=session is not None
        )
        debt = debt_.compute(observations)
        parts = {name: result.part(name)[0] for name in score.PARTS}
        checkpoint = Checkpoint.objects.create(
            project=project,
            session=session,
            kind=kind,
            commit=git.head,
            branch=git.branch,
            dirty=git.dirty,
            score_total=result.total,
            score_code_quality=parts["code_quality"],
            score_project_health=parts["project_health"],
            score_dev_velocity=parts["dev_velocity"],
            score_security=parts["security"],
            points_measured=result.points_measured,
            stars=result.stars,
            label=result.label,
            gate_verdict=verdict,
            gate_results=[c.as_dict() for c in conditions_result],
            debt_level=debt.level,
            debt_minutes=debt.minutes,
            recommendations=[r.as_dict() for r in recommend(observations, base_obs)],
            created_at=created_at or timezone.now(),
        )
        Measurement.objects.bulk_create(
            [_row(checkpoint, r) for r in sorted(readings, key=lambda r: r.key)]
        )
        if session is not None:
            _update_session(session, kind, git.head, checkpoint.created_at)
        events.send_checkpoint_created(checkpoint)
    instruments.count_checkpoint(kind, verdict)
    return checkpoint


def storable(r: Reading) -> Reading:
    """The reading, or, if its value is not finite or is out of its unit's range, the same
    key not measured with the reason: a NaN or infinity cannot be served as JSON, and a
    stored one made every later answer about the checkpoint fail."""
    value = r.value
    if value is None:
        return r
    if not is_finite(value):
        problem = f"not a finite number ({value})"
    elif r.unit == "%" and not 0 <= value <= PERCENT_MAX:
        problem = f"a percentage outside 0..{PERCENT_MAX:g} ({value:g})"
    else:
        return r
    return Reading(
        key=r.key, value=None, source=r.source, reason=f"the {r.source.tool} value is {problem}"
    )


def _row(checkpoint: Checkpoint, r: Reading) -> Measurement:
    return Measurement(
        checkpoint=checkpoint,
        key=r.key,
        value=r.value,
        unit=r.unit,
        tool=r.source.tool[:100],
        tool_version=r.source.tool_version[:100],
        artefact=r.source.artefact[:500],
        measured_at=r.source.measured_at,
        reason=r.reason,
        detail=_jsonable(r.detail),
    )


def _jsonable(detail: dict[str, Any]) -> dict[str, Any]:
    return {k: _finite_json(v) for k, v in detail.items() if v not in (None, [], {})}


def _finite_json(value: Any) -> Any:
    """`value` with every non-finite float as null: JSON has no NaN, and Postgres refuses it."""
    if isinstance(value, float) and not is_finite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_json(v) for v in value]
    return value


def _update_session(session: Session, kind: str, head: str, at: datetime) -> None:
    """A start checkpoint gives the session its start commit; an end checkpoint ends it."""
    if kind == "start" and head and not session.start_commit:
        Session.objects.filter(pk=session.pk, start_commit="").update(start_commit=head)
    if kind == "end":
        _, changed = session_end(
            session=session, end_commit=head, ended_at=max(at, session.started_at)
        )
        if not changed and head:
            # Already ended (e.g. by the API): the end checkpoint still names the last commit.
            Session.objects.filter(pk=session.pk).update(end_commit=head)


class UnknownSession(LookupError):
    """A checkpoint named a session that does not exist, and starting one was not asked for."""


def session_for_checkpoint(
    *, project: Project, external_id: str, root: Path, start_unknown: bool = True
) -> tuple[Session, bool]:
    """The session with this external id; an unknown id starts it (branch and HEAD of `root`),
    or raises UnknownSession when `start_unknown` is false."""
    existing = Session.objects.filter(project=project, external_id=external_id).first()
    if existing is not None:
        return existing, False
    if not start_unknown:
        raise UnknownSession(external_id)
    info = git_collector.head_of(root)
    start = SessionStart(external_id=external_id, branch=info.branch, start_commit=info.head)
    return session_start(project=project, start=start)


def checkpoint_take(
    *,
    project: Project,
    root: Path,
    session_id: str = "",
    kind: str | None = None,
    artefacts: Artefacts | None = None,
    run_tools: bool = False,
    python: Path | None = None,
    start_unknown: bool = True,
    progress: Callable[[str], None] = lambda message: None,
) -> Checkpoint:
    """Measure the repository at `root` and record a checkpoint of it.

    `kind` defaults to "start" for a session's first checkpoint and "manual" otherwise; git
    deltas are measured from the session's start checkpoint (or its start commit). `python`
    runs the tests (default: the repository's own .venv/ or venv/). An unknown `session_id`
    starts that session, or raises UnknownSession when `start_unknown` is false.
    """
    gates.validate(project.gate_config)  # a bad configuration fails before any work is done
    session = None
    if session_id:
        session, created = session_for_checkpoint(
            project=project, external_id=session_id, root=root, start_unknown=start_unknown
        )
        progress(f"session {session_id}: {'started' if created else 'continued'}")
    if kind is None:
        kind = "start" if session is not None and not session.checkpoints.exists() else "manual"
    start_commit = session_baseline(session).commit if session is not None else ""
    if session is not None and not start_commit:
        start_commit = git_collector.head_of(root).head
    timer = instruments.CollectorTimer(progress)
    result = measure(
        root, artefacts=artefacts, run_tools=run_tools, start_commit=start_commit,
        python=python, progress=timer,
    )  # fmt: skip
    timer.done()
    progress("storing the checkpoint")
    return checkpoint_record(
        project=project, readings=result.readings, git=result.git, session=session, kind=kind
    )
