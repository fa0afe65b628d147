"""The analytics worker's experiment step: results recomputed, a changed decision pushed live.

`evaluate_experiments(at)` computes the results of every running experiment, and once more of
each experiment stopped since its last evaluation, stores them on the experiment
(`last_results`), and pushes `experiment_updated` (docs/websocket-api.md) for each whose
decisions differ from the stored ones: the overall decision or a metric's.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db.models import F, Q

from analytics import broadcast
from analytics.experiments import cache
from analytics.experiments.results import experiment_results
from analytics.models import Experiment
from tracking import instruments

log = logging.getLogger(__name__)


def decisions(results: dict | None) -> dict | None:
    """The decisions of a results object: overall, and per (metric, arm)."""
    if results is None:
        return None
    return {
        "decision": results["decision"],
        "metrics": {
            f"{m['metric']}:{c['variant']}": c["decision"]
            for m in results["metrics"]
            for c in m["comparisons"]
        },
    }


def evaluate_experiments(at: datetime) -> int:
    """Evaluate the experiments due at `at`; returns how many changed their decisions.

    An experiment whose evaluation fails is logged and counted; the others still run.
    """
    due = Experiment.objects.filter(
        Q(status=Experiment.RUNNING)
        | Q(status=Experiment.STOPPED, last_evaluated_at__isnull=True)
        | Q(status=Experiment.STOPPED, last_evaluated_at__lt=F("stopped_at"))
    ).select_related("project")
    changed = []
    for experiment in due.order_by("pk"):
        try:
            digest = cache.fingerprint(experiment)
            results = cache.as_json(experiment_results(experiment, now=at))
        except Exception:
            instruments.analytics_worker_errors.inc()
            log.exception("experiment %s of %s failed", experiment.key, experiment.project.slug)
            continue
        previous = experiment.last_results
        Experiment.objects.filter(pk=experiment.pk).update(
            last_results=results, last_evaluated_at=at
        )
        cache.store(experiment, results, digest)
        if decisions(previous) != decisions(results):
            changed.append((experiment, results, previous))
    broadcast.experiments_updated(changed)
    return len(changed)
