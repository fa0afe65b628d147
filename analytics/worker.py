"""One pass of the analytics worker: a list of named steps, each timed, each isolated.

`manage.py analytics_worker` runs `run_pass(at)` at every full hour and every few minutes.
A step is a plain function of the evaluation time and the pass's deadline returning what it
did (one line) and the errors it absorbed; another step is one more entry of STEPS. The
anomalies, baselines and experiments are evaluated whole in every pass; the hourly
per-project refreshes (dependencies, usage) and retraining stop at the deadline
(`ANALYTICS_PASS_BUDGET_SECONDS` after the pass began; a project begun before it is finished)
and leave the other projects to the next passes, so a pass stays short however many projects
are due at the turn of an hour. A step that raises is logged and counted
(`cairn_analytics_worker_errors_total`) and the pass goes on with the next one: one broken
step does not stop the others. Each pass ends with the worker's heartbeat
(`WorkerHeartbeat`, read by /metrics at scrape time).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings

from analytics import window_figures
from analytics.dependencies import refresh_dependencies
from analytics.detection import evaluate
from analytics.experiments.evaluation import evaluate_experiments
from analytics.models import WorkerHeartbeat
from analytics.predictor.training import maybe_retrain
from analytics.recommendations import refresh_usage
from lib.hours import floor_hour
from tracking import instruments

log = logging.getLogger(__name__)

WORKER = "analytics"  # its name in WorkerHeartbeat and in cairn_worker_runs_total


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


def anomalies_step(at: datetime, deadline: float) -> tuple[str, list[str]]:
    """Evaluate and store the anomalies (`analytics.detection`); per-project errors are kept
    in the summary, the other projects still evaluated."""
    s = evaluate(at)
    line = (
        f"at {s.at.isoformat()}: {s.projects} projects, {s.tests} tests, {s.opened} opened, "
        f"{s.updated} updated, {s.resolved} resolved, {len(s.errors)} errors"
    )
    return line, s.errors


def baselines_step(at: datetime, deadline: float) -> tuple[str, list[str]]:
    """Recompute the skills' stored window figures (`analytics.window_figures`)."""
    projects, rows = window_figures.recompute(at)
    hour = floor_hour(at)
    return (
        f"{rows} skill window figures of {projects} projects, windows ending {hour:%Y-%m-%d %H}:00",
        [],
    )


def experiments_step(at: datetime, deadline: float) -> tuple[str, list[str]]:
    """Store each running experiment's results; push those whose decision changed."""
    changed = evaluate_experiments(at)
    return f"{changed} experiments changed their decision", []


def dependencies_step(at: datetime, deadline: float) -> tuple[str, list[str]]:
    """Store each project's 90-day skill dependency pass, once an hour."""
    stored, left = refresh_dependencies(at, deadline)
    return f"{stored} dependency passes stored, {left} left for the next pass", []


def usage_step(at: datetime, deadline: float) -> tuple[str, list[str]]:
    """Store each project's 90-day user × skill matrix for the recommendations, once an hour."""
    stored, left = refresh_usage(at, deadline)
    return f"{stored} usage matrices stored, {left} left for the next pass", []


def predictor_step(at: datetime, deadline: float) -> tuple[str, list[str]]:
    """Retrain a project's success predictor when it is due (schedule or new data)."""
    trained, left = maybe_retrain(at, deadline)
    return f"{trained} predictor versions trained, {left} due left for the next pass", []


Step = Callable[[datetime, float], tuple[str, list[str]]]
STEPS: list[tuple[str, Step]] = [
    ("anomalies", anomalies_step),
    ("baselines", baselines_step),
    ("experiments", experiments_step),
    ("dependencies", dependencies_step),
    ("usage", usage_step),
    ("predictor", predictor_step),
]


def run_pass(
    at: datetime, steps: list[tuple[str, Step]] | None = None, budget: float | None = None
) -> PassReport:
    """Run each step at `at` in order, timing it; a step that raises is logged, counted and
    reported, and the next one still runs. `budget` (default ANALYTICS_PASS_BUDGET_SECONDS)
    sets the deadline the steps that can leave work for later stop at."""
    report = PassReport(at)
    if budget is None:
        budget = settings.ANALYTICS_PASS_BUDGET_SECONDS
    deadline = time.monotonic() + budget
    for name, step in steps if steps is not None else STEPS:
        t0 = time.perf_counter()
        try:
            line, errors = step(at, deadline)
            result = StepReport(name, 0.0, line, list(errors))
        except Exception as error:
            instruments.analytics_worker_errors.inc()
            log.exception("analytics worker step %s at %s failed", name, at)
            result = StepReport(name, 0.0, errors=[str(error)], failed=True)
        result.seconds = time.perf_counter() - t0
        report.steps.append(result)
    ok = not report.errors and not any(s.failed for s in report.steps)
    WorkerHeartbeat.beat(WORKER, succeeded=ok)
    return report
