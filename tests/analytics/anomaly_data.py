"""Event histories for the anomaly worker's tests, stored through the one ingest path."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.analytics.conftest import at, events

# A perfect baseline for `ruff`: 200 completions, 40 an hour on 2026-11-18 03:00–07:59, hours
# no later window falls on by hour of day (so no volume test runs on them).
BASELINE_START = at("2026-11-18T03:00:00")


def perfect_baseline(project, skill: str = "ruff", start: datetime = BASELINE_START) -> None:
    events(
        project,
        *[
            (skill, start + timedelta(hours=h, minutes=m), True, None)
            for h in range(5)
            for m in range(40)
        ],
    )


def hour_of(project, start: datetime, completed: int, n: int, skill: str = "ruff") -> None:
    """n decided invocations in the hour from `start`, `completed` of them completed."""
    events(
        project,
        *[(skill, start + timedelta(minutes=5 * i), i < completed, None) for i in range(n)],
    )
