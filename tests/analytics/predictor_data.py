"""Synthetic calls for the predictor tests, stored through the one ingest path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from tracking.ingest import InvocationEvent, record_invocations
from tracking.models import Project

START = datetime(2026, 9, 1, tzinfo=UTC)
SKILLS = ("Bash", "Edit", "Read", "pytest", "ruff")
# Per-skill completion rates a model can learn.
SIGNAL = {"Bash": 0.95, "Edit": 0.9, "Read": 0.75, "pytest": 0.4, "ruff": 0.2}


def store_sessions(
    project: Project,
    rates: dict[str, float],
    sessions: int = 300,
    calls: int = 10,
    seed: int = 1,
) -> datetime:
    """`sessions` sessions of `calls` calls each, one session every 2 hours from START, skills
    uniformly at random, each call completed with its skill's rate in `rates` (independent of
    everything else). Returns the time just after the last call."""
    rng = np.random.default_rng(seed)
    names = sorted(rates)
    batch = []
    for s in range(sessions):
        begin = START + timedelta(hours=2 * s)
        for c in range(calls):
            skill = names[int(rng.integers(len(names)))]
            batch.append(
                InvocationEvent(
                    key=f"s{s}-c{c}",
                    session=f"session-{s}",
                    skill=skill,
                    invoked_at=begin + timedelta(minutes=3 * c),
                    completed=bool(rng.random() < rates[skill]),
                    phase=("plan", "code", "test")[c % 3],
                )
            )
    record_invocations(project, batch, source="api")
    return START + timedelta(hours=2 * sessions)
