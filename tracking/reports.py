"""A stored checkpoint's report data, for quality's renderers (`quality.report`)."""

from __future__ import annotations

from quality.report import ReportData
from tracking.checkpoints import observations_of, session_baseline
from tracking.models import Checkpoint


def report_data(checkpoint: Checkpoint) -> ReportData:
    """What the report of `checkpoint` shows: its measurements, gates and recommendations, and
    the session's start checkpoint it is compared with."""
    baseline = session_baseline(checkpoint.session)
    is_own = baseline.checkpoint is not None and baseline.checkpoint.pk == checkpoint.pk
    return ReportData(
        checkpoint_id=checkpoint.pk,
        project=checkpoint.project.name,
        kind=checkpoint.kind,
        commit=checkpoint.commit,
        branch=checkpoint.branch,
        created_at=checkpoint.created_at,
        session=checkpoint.session.external_id if checkpoint.session else "",
        observations=observations_of(checkpoint),
        baseline=baseline.observations,
        baseline_id=None if baseline.checkpoint is None else baseline.checkpoint.pk,
        is_start=is_own,
        gate_verdict=checkpoint.gate_verdict,
        gate_results=list(checkpoint.gate_results or []),
        recommendations=list(checkpoint.recommendations or []),
    )
