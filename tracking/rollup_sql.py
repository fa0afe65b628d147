"""Rebuilding the rollups of projects from their stored events, in SQL (Postgres).

Ingest (`tracking.ingest`) adds each batch's counts to the rollups as it stores the events;
this builds the same rows from every stored event at once, by GROUP BY on the server, for
bulk loads (the analytics benchmark) where no batch went through ingest. The counts are those
ingest adds: invocations, completed, failed (undecided counts in neither), the count, sum and
sum of squares of the measured durations, distinct sessions; one row per duration bucket
(`lib.buckets`, its edges computed the same way) and per phase; the daily tier and the
per-session call counts from them (`build_daily`, which the migration adding that tier
runs on existing data, on either backend).
"""

# ruff: noqa: S608 - every statement is built from table and column names of this module;
# the values (project ids) are always parameters.
from __future__ import annotations

from collections.abc import Callable, Sequence

from django.db import connection

from lib import buckets

HOUR = "date_trunc('hour', invoked_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"


def bucket_sql(column: str) -> str:
    """`lib.buckets.bucket_of(column)` as an SQL expression: the logarithm's guess, then one
    step down or up where the edges (the same powers of RATIO) say so."""
    low, ratio, top = buckets.LOWEST_S, buckets.RATIO, buckets.BUCKETS - 1
    guess = f"LEAST({top}, floor(ln({column} / {low}) / ln({ratio}))::int + 1)"

    def edge(k: str) -> str:
        return f"({low}::float8 * power({ratio}::float8, ({k}) - 1))"

    return (
        f"CASE WHEN {column} < {low} THEN 0 ELSE (SELECT CASE "
        f"WHEN g.b > 1 AND {column} < {edge('g.b')} THEN g.b - 1 "
        f"WHEN g.b < {top} AND {column} >= {edge('g.b + 1')} THEN g.b + 1 "
        f"ELSE g.b END FROM (SELECT {guess} AS b) AS g) END"
    )


def _statements() -> list[tuple[str, str]]:
    hour = HOUR
    events = "tracking_skillinvocation WHERE project_id = ANY(%(ids)s)"
    return [
        (
            "tracking_skillhourly",
            f"""INSERT INTO tracking_skillhourly (project_id, skill, hour, invocations,
                completed, failed, duration_count, duration_sum, duration_sumsq, unique_sessions)
            SELECT project_id, skill, {hour}, count(*), count(*) FILTER (WHERE completed),
                count(*) FILTER (WHERE NOT completed), count(duration_s),
                coalesce(sum(duration_s), 0), coalesce(sum(duration_s * duration_s), 0),
                count(DISTINCT session_id)
            FROM {events} GROUP BY 1, 2, 3""",
        ),
        (
            "tracking_skillsessionhour",
            f"""INSERT INTO tracking_skillsessionhour (project_id, skill, hour, session_id)
            SELECT DISTINCT project_id, skill, {hour}, session_id
            FROM {events} AND session_id IS NOT NULL""",
        ),
        (
            "tracking_skilldurationbucket",
            f"""INSERT INTO tracking_skilldurationbucket (project_id, skill, hour, bucket, count)
            SELECT project_id, skill, {hour}, {bucket_sql("duration_s")}, count(*)
            FROM {events} AND duration_s IS NOT NULL GROUP BY 1, 2, 3, 4""",
        ),
        (
            "tracking_skillphasehour",
            f"""INSERT INTO tracking_skillphasehour (project_id, skill, hour, phase, count)
            SELECT project_id, skill, {hour}, phase, count(*) FROM {events}
            GROUP BY 1, 2, 3, 4""",
        ),
    ]


def _day(column: str) -> str:
    """The UTC calendar day of a stored timestamp, in the database's SQL."""
    if connection.vendor == "postgresql":
        return f"({column} AT TIME ZONE 'UTC')::date"
    return f"date({column})"  # SQLite stores UTC text


def _project_filter(ids: Sequence[int] | None) -> tuple[str, list]:
    if ids is None:
        return "", []
    marks = ", ".join(["%s"] * len(ids)) or "NULL"
    return f"WHERE project_id IN ({marks})", list(ids)


def build_daily(project_ids: Sequence[int] | None = None) -> dict[str, int]:
    """Build the daily tier (SkillDaily, SkillDurationBucketDay, SkillPhaseDay) of
    `project_ids` (None: every project) by summing their hourly rows per UTC day, replacing
    what the tier held for them; and SessionRollup from the events of their sessions. Plain
    SQL both backends run (the migration that adds the tier runs it on existing data)."""
    where, params = _project_filter(project_ids)
    day = _day("hour")
    counts = "invocations, completed, failed, duration_count, duration_sum, duration_sumsq"
    summed = ", ".join(f"sum({c})" for c in counts.split(", "))
    statements = [
        (
            "tracking_skilldaily",
            f"INSERT INTO tracking_skilldaily (project_id, skill, day, {counts}) "
            f"SELECT project_id, skill, {day}, {summed} FROM tracking_skillhourly {where} "
            f"GROUP BY project_id, skill, {day}",
        ),
        (
            "tracking_skilldurationbucketday",
            "INSERT INTO tracking_skilldurationbucketday (project_id, skill, day, bucket, count) "
            f"SELECT project_id, skill, {day}, bucket, sum(count) "
            f"FROM tracking_skilldurationbucket {where} GROUP BY project_id, skill, {day}, bucket",
        ),
        (
            "tracking_skillphaseday",
            "INSERT INTO tracking_skillphaseday (project_id, skill, day, phase, count) "
            f"SELECT project_id, skill, {day}, phase, sum(count) "
            f"FROM tracking_skillphasehour {where} GROUP BY project_id, skill, {day}, phase",
        ),
    ]
    written = {}
    with connection.cursor() as cursor:
        for table, statement in statements:
            cursor.execute(f"DELETE FROM {table} {where}", params)
            cursor.execute(statement, params)
            written[table] = cursor.rowcount
        sessions = "SELECT id FROM tracking_session " + where
        rollups = f"DELETE FROM tracking_sessionrollup WHERE session_id IN ({sessions})"
        cursor.execute(rollups, params)
        cursor.execute(
            "INSERT INTO tracking_sessionrollup (session_id, invocations) "
            "SELECT session_id, count(*) FROM tracking_skillinvocation "
            f"WHERE session_id IN ({sessions}) GROUP BY session_id",
            params,
        )
        written["tracking_sessionrollup"] = cursor.rowcount
    return written


def rebuild(
    project_ids: Sequence[int], progress: Callable[[str], None] = lambda _: None
) -> dict[str, int]:
    """Replace the rollups of `project_ids` by those of their stored events; returns the rows
    written per table. Postgres only (the statements use its functions)."""
    ids = list(project_ids)
    written: dict[str, int] = {}
    with connection.cursor() as cursor:
        cursor.execute("SET work_mem = '256MB'")
        for table, statement in _statements():
            cursor.execute(f"DELETE FROM {table} WHERE project_id = ANY(%(ids)s)", {"ids": ids})
            cursor.execute(statement, {"ids": ids})
            written[table] = cursor.rowcount
            progress(f"{table}: {cursor.rowcount:,} rows")
    for table, rows in build_daily(ids).items():
        written[table] = rows
        progress(f"{table}: {rows:,} rows")
    return written
