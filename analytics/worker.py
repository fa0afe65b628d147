"""One pass of the analytics worker: a list of named steps, each timed, each isolated.

`manage.py analytics_worker` runs `run_pass(at)` at every full hour and every few minutes.
A step is a plain function of the evaluation time returning what it did (one line) and the
errors it absorbed; another step (dependencies, predictor retraining…) is one more entry of
STEPS. A step that raises is logged and counted (`cairn_analytics_worker_errors_total`) and
the pass goes on with the next one: one broken step does not stop the others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client import Gauge

from analytics import window_figures
from analytics.detection import errors_total, evaluate
from lib.hours import floor_hour

log = logging.getLogger(__name__)

step_seconds = Gauge(
    "cairn_analytics_worker_step_seconds", "Duration of the last run of a worker step.", ["step"]
)


@dataclass
class StepReport:
    """What one step did in one pass."""

    name: str
    seconds: float
    line: str = ""
    errors: list[str] = field(default_factory=list)
    failed: bool = False


@dataclass
class PassReport:
    at: datetime
    steps: list[StepReport] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)

    @property
    def errors(self) -> list[str]:
        return [f"{s.name}: {e}" for s in self.steps for e in s.errors]


def anomalies_step(at: datetime) -> tuple[str, list[str]]:
    """Evaluate and store the anomalies (`analytics.detection`); per-project errors are kept
    in the summary, the other projects still evaluated."""
    s = evaluate(at)
    line = (
        f"at {s.at.isoformat()}: {s.projects} projects, {s.tests} tests, {s.opened} opened, "
        f"{s.updated} updated, {s.resolved} resolved, {len(s.errors)} errors"
    )
    return line, s.errors


def baselines_step(at: datetime) -> tuple[str, list[str]]:
    """Recompute the skills' stored window figures (`analytics.window_figures`)."""
    projects, rows = window_figures.recompute(at)
    hour = floor_hour(at)
    return (
        f"{rows} skill window figures of {projects} projects, windows ending {hour:%Y-%m-%d %H}:00",
        [],
    )


Step = Callable[[datetime], tuple[str, list[str]]]
STEPS: list[tuple[str, Step]] = [
    ("anomalies", anomalies_step),
    ("baselines", baselines_step),
]


def run_pass(at: datetime, steps: list[tuple[str, Step]] | None = None) -> PassReport:
    """Run each step at `at` in order, timing it; a step that raises is logged, counted and
    reported, and the next one still runs."""
    report = PassReport(at)
    for name, step in steps if steps is not None else STEPS:
        t0 = time.perf_counter()
        try:
            line, errors = step(at)
            result = StepReport(name, 0.0, line, list(errors))
        except Exception as error:
            errors_total.inc()
            log.exception("analytics worker step %s at %s failed", name, at)
            result = StepReport(name, 0.0, errors=[str(error)], failed=True)
        result.seconds = time.perf_counter() - t0
        step_seconds.labels(name).set(result.seconds)
        report.steps.append(result)
    return report
