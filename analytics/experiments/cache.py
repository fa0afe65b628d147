"""An experiment's results, served again while nothing they are computed from has changed.

Computing the results reads every exposed unit's tool calls (about 0.7 s for 10,000 units on
the benchmark data, docs/benchmarks.md), too slow for a page. The data they read is
insert-only or summed into rollups, so a handful of aggregates over the exposed units'
sessions change whenever the results could: the exposures (count, last id), the units'
sessions (count, id sum), their tool calls (`SessionRollup`, which ingest keeps in the same
transaction as the calls), their tokens and cost, their checkpoints (count, last id), and the
experiment's own definition and status. `fingerprint` hashes them in one query over the
units (the same units the results use, `metrics.units_sql`); `current_results` serves the
stored results while their fingerprint still matches and computes (and stores) them
otherwise. The fingerprint is taken before the computation, so data arriving meanwhile
leaves a stale fingerprint behind and the next read recomputes: never the other way round.

The analytics worker keeps its own `last_results` (the decisions it pushed live); this cache
is separate so that a page's computation never hides a decision change from the worker.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder

from analytics.experiments.metrics import TOKENS, fetch_rows, units_sql
from analytics.experiments.results import METHOD, experiment_results
from analytics.models import Experiment, Exposure
from tracking.models import Checkpoint, Session, SessionRollup


def fingerprint(experiment: Experiment) -> str:
    """A digest of everything the experiment's results are computed from (see the module)."""
    units, params = units_sql(experiment)
    sessions, rollups = Session._meta.db_table, SessionRollup._meta.db_table
    checkpoints, exposures = Checkpoint._meta.db_table, Exposure._meta.db_table
    # One pass over the units: their sessions joined once, the rollup and checkpoints as
    # per-session subqueries (index lookups; joins let Postgres scan both whole tables).
    [data] = fetch_rows(
        f"WITH u AS ({units}) SELECT "  # noqa: S608 - names only
        f"(SELECT COUNT(*) FROM {exposures} WHERE experiment_id = %s), "
        f"(SELECT MAX(id) FROM {exposures} WHERE experiment_id = %s), "
        f"COUNT(*), SUM(u.session_id), SUM({TOKENS}), SUM(s.cost_usd), "
        f"SUM((SELECT r.invocations FROM {rollups} r WHERE r.session_id = u.session_id)), "
        f"SUM((SELECT COUNT(*) FROM {checkpoints} c WHERE c.session_id = u.session_id)), "
        f"MAX((SELECT MAX(c.id) FROM {checkpoints} c WHERE c.session_id = u.session_id)) "
        f"FROM u JOIN {sessions} s ON s.id = u.session_id",
        [*params, experiment.pk, experiment.pk],
    )
    definition = [
        METHOD,
        experiment.key,
        experiment.status,
        experiment.unit,
        experiment.arms,
        experiment.metrics,
        experiment.guardrail_metrics,
        experiment.planned_units,
        experiment.started_at,
        experiment.stopped_at,
    ]
    text = json.dumps([definition, list(data)], cls=DjangoJSONEncoder, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def as_json(results: dict) -> dict:
    """The results as stored in a JSON field (and as the API renders them)."""
    return json.loads(json.dumps(results, cls=DjangoJSONEncoder))


def store(experiment: Experiment, results: dict, digest: str) -> None:
    """Keep `results` (JSON-ready) as the ones matching `digest`."""
    Experiment.objects.filter(pk=experiment.pk).update(
        results_cache=results, results_fingerprint=digest
    )
    experiment.results_cache, experiment.results_fingerprint = results, digest


def current_results(experiment: Experiment, now: datetime | None = None) -> dict:
    """The experiment's results (JSON-ready): the stored ones while nothing they read has
    changed, else computed now and stored."""
    digest = fingerprint(experiment)
    if experiment.results_cache is not None and experiment.results_fingerprint == digest:
        return experiment.results_cache
    results = as_json(experiment_results(experiment, now=now))
    store(experiment, results, digest)
    return results
