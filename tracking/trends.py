"""Reads for the pages: score and coverage trends, a session's start → end comparison."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from lib.formatting import figure
from tracking.models import Checkpoint, Measurement, Session

TREND_POINTS = 200
COMPARED = [
    ("Quality score", None),
    ("Line coverage %", "coverage.line_percent"),
    ("Tests", "tests.total"),
    ("Failing tests", "tests.failed"),
    ("Ruff findings", "lint.findings"),
    ("mypy errors", "types.errors"),
    ("Max complexity", "complexity.max"),
    ("High-severity security findings", "security.findings.high"),
    ("Python lines", "fs.python_lines"),
    ("Commits since start", "git.commits_since_start"),
]


def _series(checkpoints: list[Checkpoint]) -> dict[str, list[Any]]:
    """Score and coverage of each checkpoint, oldest first; null where not measured."""
    coverage = dict(
        Measurement.objects.filter(
            checkpoint__in=checkpoints, key="coverage.line_percent"
        ).values_list("checkpoint_id", "value")
    )
    return {
        "ids": [c.pk for c in checkpoints],
        "urls": [c.get_absolute_url() for c in checkpoints],
        "labels": [c.created_at.isoformat() for c in checkpoints],
        "kinds": [c.kind for c in checkpoints],
        "scores": [None if c.score_total is None else round(c.score_total, 1) for c in checkpoints],
        "coverage": [
            None if (value := coverage.get(c.pk)) is None else round(value, 1) for c in checkpoints
        ],
    }


def trend_data(checkpoint: Checkpoint) -> dict[str, Any]:
    """Trends for the checkpoint page: over its session (if any) and over its project, up to and
    including this checkpoint."""
    upto = (
        Checkpoint.objects.filter(created_at__lte=checkpoint.created_at)
        .select_related("project")
        .order_by("-created_at", "-pk")
    )
    project = list(reversed(upto.filter(project=checkpoint.project_id)[:TREND_POINTS]))
    data = {"current": checkpoint.pk, "project": _series(project), "session": None}
    if checkpoint.session_id:
        session = list(reversed(upto.filter(session=checkpoint.session_id)[:TREND_POINTS]))
        data["session"] = _series(session)
    return data


def _delta(delta: float | None) -> str:
    if delta is None:
        return ""
    if round(delta, 2) == 0:
        return "0"
    return f"{delta:+,.2f}".rstrip("0").rstrip(".")


class _Compared(Protocol):
    @property
    def pk(self) -> Any: ...
    @property
    def kind(self) -> str: ...


C = TypeVar("C", bound=_Compared)


def start_and_end(checkpoints: list[C]) -> tuple[C, C] | None:
    """A session's compared checkpoints, from its checkpoints in (created_at, pk) order: the
    first `start` one (else the first) and the last `end` one (else the latest); None when
    there are fewer than two, or both are the same. Checkpoints or any rows with `pk` and
    `kind` (session statistics pass tuples, to build no model instance per checkpoint)."""
    if len(checkpoints) < 2:
        return None
    start = next((c for c in checkpoints if c.kind == "start"), checkpoints[0])
    end = next((c for c in reversed(checkpoints) if c.kind == "end"), checkpoints[-1])
    return None if start.pk == end.pk else (start, end)


def session_comparison(session: Session) -> dict[str, Any] | None:
    """Key figures at the session's start checkpoint and at its end (or latest) checkpoint."""
    pair = start_and_end(list(session.checkpoints.order_by("created_at", "pk")))
    if pair is None:
        return None
    start, end = pair
    keys = [k for _, k in COMPARED if k]
    values: dict[tuple[int, str], float | None] = {
        (cp, key): v
        for cp, key, v in Measurement.objects.filter(
            checkpoint__in=[start, end], key__in=keys
        ).values_list("checkpoint_id", "key", "value")
    }
    rows = []
    for label, key in COMPARED:
        if key is None:
            before, after = start.score_total, end.score_total
        else:
            before, after = values.get((start.pk, key)), values.get((end.pk, key))
        delta = None if before is None or after is None else after - before
        rows.append(
            {
                "label": label,
                "key": key,
                "start": figure(before),
                "end": figure(after),
                "delta": _delta(delta),
            }
        )
    return {"start": start, "end": end, "rows": rows}
