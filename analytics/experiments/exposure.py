"""Assigning a unit and recording its first exposure: the only writer of `Exposure`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from analytics.experiments.assignment import choose, hash_v2
from analytics.models import Experiment, Exposure
from tracking.models import Project


@dataclass(frozen=True)
class Assignment:
    arm: str
    context: str
    hash: float
    first_exposed_at: datetime | None = None


def assign(experiment: Experiment, unit_id: str) -> Assignment | None:
    """The unit's arm by hash v2 with the experiment key as seed; None unless running."""
    if experiment.status != Experiment.RUNNING:
        return None
    value = hash_v2(experiment.key, unit_id)
    index = choose(value, experiment.ranges)
    if index is None:
        return None
    arm = experiment.arms[index]
    return Assignment(arm=arm["key"], context=arm.get("context", ""), hash=value)


def expose(experiment: Experiment, unit_id: str, at: datetime) -> Assignment | None:
    """`assign`, and the exposure recorded: the first one's time and arm are kept on repeats
    (an insert that does nothing on conflict, so two processes racing store one row)."""
    assignment = assign(experiment, unit_id)
    if assignment is None:
        return None
    Exposure.objects.bulk_create(
        [
            Exposure(
                experiment=experiment,
                unit_id=unit_id,
                arm=assignment.arm,
                first_exposed_at=at,
            )
        ],
        ignore_conflicts=True,
    )
    stored = Exposure.objects.get(experiment=experiment, unit_id=unit_id)
    contexts = {arm["key"]: arm.get("context", "") for arm in experiment.arms}
    return Assignment(
        arm=stored.arm,
        context=contexts.get(stored.arm, ""),
        hash=assignment.hash,
        first_exposed_at=stored.first_exposed_at,
    )


def session_start_context(project: Project, session_id: str, at: datetime) -> str | None:
    """What Claude Code's SessionStart hook should add to the session's context: the arms'
    contexts of the project's running session-unit experiments, each exposure recorded; None
    when no such experiment runs (the hook then answers 204 as every other one)."""
    running = Experiment.objects.filter(
        project=project, status=Experiment.RUNNING, unit=Experiment.SESSION
    ).order_by("key")
    contexts = []
    found = False
    for experiment in running:
        assignment = expose(experiment, session_id, at)
        if assignment is not None:
            found = True
            if assignment.context:
                contexts.append(assignment.context)
    return "\n\n".join(contexts) if found else None
