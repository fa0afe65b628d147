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
from datetime import datetime
from statistics import fmean

from django.db import connection
from django.utils.dateparse import parse_datetime

from analytics.models import Experiment, Exposure
from tracking.models import Checkpoint, Measurement, Session, SkillInvocation

UnitValues = dict[str, tuple[float, float]]


def _units_sql(experiment: Experiment) -> tuple[str, list]:
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


def _rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def unit_metrics(experiment: Experiment) -> dict[str, UnitValues]:
    """Every metric's per-unit (numerator, denominator), for the units that have data."""
    units, params = _units_sql(experiment)
    found: dict[str, UnitValues] = {}
    found.update(_invocation_metrics(units, params))
    found.update(_session_metrics(units, params))
    found.update(_checkpoint_metrics(units, params))
    return found


def _invocation_metrics(units: str, params: list) -> dict[str, UnitValues]:
    invocations = SkillInvocation._meta.db_table
    rows = _rows(
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


def _session_metrics(units: str, params: list) -> dict[str, UnitValues]:
    sessions = Session._meta.db_table
    rows = _rows(
        f"WITH u AS ({units}) SELECT u.unit_id, "  # noqa: S608 - names only
        f"s.input_tokens + s.output_tokens + s.cache_creation_tokens + s.cache_read_tokens, "
        f"s.cost_usd FROM u JOIN {sessions} s ON s.id = u.session_id",
        params,
    )
    tokens: dict[str, float] = defaultdict(float)
    cost: dict[str, float] = defaultdict(float)
    for unit, total, usd in rows:
        if total:  # no usage recorded is "not measured" (Session.tokens_measured)
            tokens[unit] += float(total)
        if usd is not None:
            cost[unit] += float(usd)
    return {
        "tokens": {u: (v, 1.0) for u, v in tokens.items()},
        "cost_usd": {u: (v, 1.0) for u, v in cost.items()},
    }


def _moment(value: datetime | str) -> datetime:
    # SQLite hands timestamps of a raw query back as text.
    parsed = parse_datetime(value) if isinstance(value, str) else value
    assert parsed is not None
    return parsed


def _checkpoint_metrics(units: str, params: list) -> dict[str, UnitValues]:
    checkpoints, measurements = Checkpoint._meta.db_table, Measurement._meta.db_table
    rows = _rows(
        f"WITH u AS ({units}) SELECT u.unit_id, c.session_id, c.kind, c.created_at, c.id, "  # noqa: S608 - names only
        f"c.score_total, c.gate_verdict, m.value FROM u "
        f"JOIN {checkpoints} c ON c.session_id = u.session_id AND c.created_at >= u.exposed_at "
        f"LEFT JOIN {measurements} m ON m.checkpoint_id = c.id AND m.key = %s",
        [*params, "tests.total"],
    )
    starts: dict[tuple[str, int], tuple] = {}
    ends: dict[tuple[str, int], tuple] = {}
    gated: dict[str, list[bool]] = defaultdict(list)
    for unit, session, kind, created, pk, score, verdict, tests in rows:
        order = (_moment(created), pk)
        point = (order, score, tests)
        key = (unit, session)
        if kind == "start" and (key not in starts or order < starts[key][0]):
            starts[key] = point
        if kind == "end" and (key not in ends or order > ends[key][0]):
            ends[key] = point
        if verdict in (Checkpoint.PASSED, Checkpoint.FAILED):
            gated[unit].append(verdict == Checkpoint.FAILED)
    score_changes: dict[str, list[float]] = defaultdict(list)
    tests_created: dict[str, list[float]] = defaultdict(list)
    for key, (_, start_score, start_tests) in starts.items():
        if key not in ends:
            continue
        _, end_score, end_tests = ends[key]
        if start_score is not None and end_score is not None:
            score_changes[key[0]].append(end_score - start_score)
        if start_tests is not None and end_tests is not None:
            tests_created[key[0]].append(end_tests - start_tests)
    return {
        # A unit with several sessions: the mean of its sessions' changes.
        "quality_score_change": {u: (fmean(v), 1.0) for u, v in score_changes.items()},
        "tests_created": {u: (fmean(v), 1.0) for u, v in tests_created.items()},
        "gate_failed_checkpoints": {u: (float(sum(v)), 1.0) for u, v in gated.items()},
    }
