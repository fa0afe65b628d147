"""Each exposed unit's metrics, from what it did at or after its first exposure.

A unit's sessions: for unit `session`, the session whose external id is the unit id and its
subagents' sessions; for unit `user`, the sessions whose `user_name` is the unit id and that
started at or after the exposure. Only invocations with `invoked_at` ≥ the unit's first
exposure count, and only checkpoints created at or after it.

Per unit, as (numerator, denominator): a ratio metric has both (completion rate: completed
over decided tool calls); a mean metric's value is the numerator and its denominator is 1. A
unit with nothing to measure for a metric is absent from that metric's dict (it is counted in
`units_without_data` by the results, never as 0).
"""

from __future__ import annotations

from collections import defaultdict
from statistics import fmean

from django.db import connection

from analytics.models import Experiment, Exposure
from tracking.models import Checkpoint, Measurement, Session, SkillInvocation

UnitValues = dict[str, tuple[float, float]]


def units_sql(experiment: Experiment) -> tuple[str, list]:
    """(unit_id, exposed_at, session_id, session started_at) of every exposed unit's sessions."""
    exposures, sessions = Exposure._meta.db_table, Session._meta.db_table
    project = experiment.project_id
    if experiment.unit == Experiment.SESSION:
        # The session, then its subagents' sessions: two joins in a UNION ALL, as an OR in
        # one join condition leaves Postgres a nested loop over every pair of sessions.
        main = (
            f"FROM {exposures} x "  # noqa: S608 - names only
            f"JOIN {sessions} m ON m.project_id = %s AND m.external_id = x.unit_id "
        )
        sql = (
            f"SELECT x.unit_id, x.first_exposed_at AS exposed_at, m.id AS session_id, "
            f"m.started_at {main} WHERE x.experiment_id = %s UNION ALL "
            f"SELECT x.unit_id, x.first_exposed_at, s.id, s.started_at {main}"
            f"JOIN {sessions} s ON s.parent_id = m.id WHERE x.experiment_id = %s"
        )
        return sql, [project, experiment.pk, project, experiment.pk]
    sql = (
        f"SELECT x.unit_id, x.first_exposed_at AS exposed_at, s.id AS session_id, "  # noqa: S608 - names only
        f"s.started_at FROM {exposures} x "
        f"JOIN {sessions} s ON s.project_id = %s AND s.user_name = x.unit_id "
        f"AND s.started_at >= x.first_exposed_at WHERE x.experiment_id = %s"
    )
    return sql, [project, experiment.pk]


def fetch_rows(sql: str, params: list) -> list[tuple]:
    """Every row of one raw query."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def unit_metrics(experiment: Experiment) -> dict[str, UnitValues]:
    """Every metric's per-unit (numerator, denominator), for the units that have data."""
    units, params = units_sql(experiment)
    found: dict[str, UnitValues] = {}
    found.update(_invocation_metrics(units, params))
    found.update(_session_metrics(units, params))
    found.update(_checkpoint_metrics(units, params))
    return found


def _invocation_metrics(units: str, params: list) -> dict[str, UnitValues]:
    invocations = SkillInvocation._meta.db_table
    rows = fetch_rows(
        f"WITH u AS ({units}) SELECT u.unit_id, "  # noqa: S608 - names only
        f"SUM(CASE WHEN i.completed THEN 1 ELSE 0 END), COUNT(i.completed), "
        f"COUNT(i.duration_s), SUM(i.duration_s) "
        f"FROM u JOIN {invocations} i ON i.session_id = u.session_id "
        f"AND i.invoked_at >= u.exposed_at GROUP BY u.unit_id",
        params,
    )
    rate: UnitValues = {}
    duration: UnitValues = {}
    for unit, completed, decided, timed, total in rows:
        if decided:
            rate[unit] = (float(completed), float(decided))
        if timed:
            duration[unit] = (float(total) / timed, 1.0)
    return {"completion_rate": rate, "tool_duration": duration}


# A session's tokens, every kind.
TOKENS = "(s.input_tokens + s.output_tokens + s.cache_creation_tokens + s.cache_read_tokens)"


def _session_metrics(units: str, params: list) -> dict[str, UnitValues]:
    sessions = Session._meta.db_table
    # Summed per unit by the server: a unit's tokens over its sessions that recorded usage
    # (none recorded is "not measured", Session.tokens_measured), its cost over the sessions
    # with a known cost (SUM skips NULL; all NULL gives NULL, left out as not measured).
    rows = fetch_rows(
        f"WITH u AS ({units}) SELECT u.unit_id, "  # noqa: S608 - names only
        f"SUM(CASE WHEN {TOKENS} <> 0 THEN {TOKENS} END), SUM(s.cost_usd) "
        f"FROM u JOIN {sessions} s ON s.id = u.session_id GROUP BY u.unit_id",
        params,
    )
    tokens: UnitValues = {}
    cost: UnitValues = {}
    for unit, total, usd in rows:
        if total is not None:
            tokens[unit] = (float(total), 1.0)
        if usd is not None:
            cost[unit] = (float(usd), 1.0)
    return {"tokens": tokens, "cost_usd": cost}


def _checkpoint_metrics(units: str, params: list) -> dict[str, UnitValues]:
    """One row per (unit, session): its start checkpoint (the first at or after the exposure)
    and end checkpoint (the last), picked by the server with window functions over
    (created_at, id), and the session's gated and gate-failed checkpoints."""
    checkpoints, measurements = Checkpoint._meta.db_table, Measurement._meta.db_table
    first, last = (
        f"ROW_NUMBER() OVER (PARTITION BY u.unit_id, c.session_id, c.kind "
        f"ORDER BY c.created_at {way}, c.id {way})"
        for way in ("ASC", "DESC")
    )
    start = "c.kind = 'start' AND c.first_rank = 1"
    end = "c.kind = 'end' AND c.last_rank = 1"
    rows = fetch_rows(
        f"WITH u AS ({units}), c AS (SELECT u.unit_id, c.session_id, c.kind, "  # noqa: S608 - names only
        f"c.score_total, c.gate_verdict, m.value AS tests, {first} AS first_rank, "
        f"{last} AS last_rank FROM u "
        f"JOIN {checkpoints} c ON c.session_id = u.session_id AND c.created_at >= u.exposed_at "
        f"LEFT JOIN {measurements} m ON m.checkpoint_id = c.id AND m.key = %s) "
        f"SELECT c.unit_id, "
        f"SUM(CASE WHEN {start} THEN 1 ELSE 0 END), "
        f"MAX(CASE WHEN {start} THEN c.score_total END), "
        f"MAX(CASE WHEN {start} THEN c.tests END), "
        f"SUM(CASE WHEN {end} THEN 1 ELSE 0 END), "
        f"MAX(CASE WHEN {end} THEN c.score_total END), "
        f"MAX(CASE WHEN {end} THEN c.tests END), "
        f"SUM(CASE WHEN c.gate_verdict = %s THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN c.gate_verdict IN (%s, %s) THEN 1 ELSE 0 END) "
        f"FROM c GROUP BY c.unit_id, c.session_id",
        [*params, "tests.total", Checkpoint.FAILED, Checkpoint.PASSED, Checkpoint.FAILED],
    )
    score_changes: dict[str, list[float]] = defaultdict(list)
    tests_created: dict[str, list[float]] = defaultdict(list)
    failed: dict[str, int] = {}
    for unit, starts, start_score, start_tests, ends, end_score, end_tests, bad, gated in rows:
        if starts and ends:
            if start_score is not None and end_score is not None:
                score_changes[unit].append(end_score - start_score)
            if start_tests is not None and end_tests is not None:
                tests_created[unit].append(end_tests - start_tests)
        if gated:
            failed[unit] = failed.get(unit, 0) + bad
    return {
        # A unit with several sessions: the mean of its sessions' changes.
        "quality_score_change": {u: (fmean(v), 1.0) for u, v in score_changes.items()},
        "tests_created": {u: (fmean(v), 1.0) for u, v in tests_created.items()},
        "gate_failed_checkpoints": {u: (float(v), 1.0) for u, v in failed.items()},
    }
