"""Session analytics of a project over a window: lengths, when sessions start, streaks, and
what goes with a session's score change.

Sessions are those started in [since, until). Calendar days, weekdays and hours are in the
display zone (`CAIRN_DISPLAY_TZ`). A session's length is known once it has ended; its score
change is the end checkpoint's total score minus the start one's, the checkpoints the session
page compares (`tracking.trends.start_and_end`). Correlations use pairwise-complete cases:
a session missing either value is left out of that pair only.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.db.models import OuterRef, Subquery
from scipy import stats

from tracking.models import Checkpoint, Project, Session, SessionRollup
from tracking.trends import start_and_end

SHORT_MINUTES = 15
MEDIUM_MINUTES = 60
MIN_PAIRS = 5


@dataclass(frozen=True)
class SessionFacts:
    """What the statistics need of one session."""

    started_at: datetime
    minutes: float | None
    tool_calls: int
    cost_usd: float | None
    score_change: float | None


def length_buckets(minutes: list[float]) -> dict[str, dict]:
    """Counts and shares (0–1, None without sessions) of short (< 15 min), medium (< 60) and
    long sessions."""
    counts = {"short": 0, "medium": 0, "long": 0}
    for m in minutes:
        counts["short" if m < SHORT_MINUTES else "medium" if m < MEDIUM_MINUTES else "long"] += 1
    total = len(minutes)
    return {
        name: {"count": count, "share": count / total if total else None}
        for name, count in counts.items()
    }


def median(values: list[float]) -> float | None:
    """`statistics.median` (the mean of the middle two for an even n); None when empty."""
    return statistics.median(values) if values else None


def by_weekday(starts: list[datetime]) -> dict[str, int]:
    """Sessions per ISO weekday of their (local) start, "1" (Monday) to "7", zeros included."""
    counts = Counter(s.isoweekday() for s in starts)
    return {str(d): counts[d] for d in range(1, 8)}


def by_hour(starts: list[datetime]) -> dict[str, int]:
    """Sessions per hour of their (local) start, "0" to "23", zeros included."""
    counts = Counter(s.hour for s in starts)
    return {str(h): counts[h] for h in range(24)}


def by_weekday_hour(starts: list[datetime]) -> dict[str, dict[str, int]]:
    """Sessions per ISO weekday ("1"–"7") and hour ("0"–"23") of their (local) start, zeros
    included: the cells of the session-patterns page's heat map, whose row and column sums are
    `by_weekday` and `by_hour`."""
    counts = Counter((s.isoweekday(), s.hour) for s in starts)
    return {str(d): {str(h): counts[d, h] for h in range(24)} for d in range(1, 8)}


def streaks(days: set[date], last_day: date) -> dict:
    """Runs of consecutive calendar days with a session. `current` is the run ending on
    `last_day` or the day before it (a day without a session yet does not break it)."""
    longest: tuple[int, date | None, date | None] = (0, None, None)
    run_start: date | None = None
    ends: dict[date, tuple[int, date]] = {}
    for day in sorted(days):
        if run_start is None or day - timedelta(days=1) not in days:
            run_start = day
        length = (day - run_start).days + 1
        ends[day] = (length, run_start)
        if length > longest[0]:
            longest = (length, run_start, day)
    current = ends.get(last_day) or ends.get(last_day - timedelta(days=1))
    return {
        "active_days": len(days),
        "longest_days": longest[0],
        "longest_start": longest[1],
        "longest_end": longest[2],
        "current_days": current[0] if current else 0,
    }


def correlation(
    x_name: str,
    xs: Sequence[float | None],
    y_name: str,
    ys: Sequence[float | None],
    method: str,
) -> dict:
    """`method` ("pearson" or "spearman") correlation on the pairwise-complete cases, with n;
    r and p are None under MIN_PAIRS pairs or when a side is constant."""
    pairs = [(x, y) for x, y in zip(xs, ys, strict=True) if x is not None and y is not None]
    result: dict = {"x": x_name, "y": y_name, "n": len(pairs), "r": None, "p": None}
    result["method"] = method
    if len(pairs) < MIN_PAIRS or len({x for x, _ in pairs}) < 2 or len({y for _, y in pairs}) < 2:
        return result
    a, b = [x for x, _ in pairs], [y for _, y in pairs]
    test = stats.spearmanr(a, b) if method == "spearman" else stats.pearsonr(a, b)
    r, p = float(test.statistic), float(test.pvalue)
    if math.isfinite(r) and math.isfinite(p):
        result["r"], result["p"] = r, p
    return result


class _CheckpointRow(NamedTuple):
    pk: int
    kind: str
    score_total: float | None


def session_facts(project: Project, since: datetime, until: datetime) -> list[SessionFacts]:
    """The sessions started in [since, until), oldest first, with their tool-call counts (from
    the per-session rollup that ingest keeps, never the event log) and score changes.

    Read as tuples: model instances for a month's sessions and their checkpoints were most of
    the endpoint's time (docs/benchmarks.md, session stats)."""
    in_window = Session.objects.filter(project=project, started_at__gte=since, started_at__lt=until)
    # A scalar subquery per session is an index lookup each; a join or `IN` made Postgres
    # scan the whole rollup table (80 ms against 5 ms for 1,800 of 108,000 sessions).
    calls = SessionRollup.objects.filter(session=OuterRef("pk")).values("invocations")
    sessions = (
        in_window.order_by("started_at", "pk")
        .annotate(calls=Subquery(calls))
        .values_list("pk", "started_at", "ended_at", "cost_usd", "calls")
    )
    checkpoints: dict[int, list[_CheckpointRow]] = defaultdict(list)
    # A subquery, not a list of ids: a long window's sessions would exceed SQLite's parameters.
    # The project's own checkpoints only, which is also what lets Postgres read them by the
    # project's index instead of scanning every project's (20 ms against 130 ms).
    for session_id, pk, kind, score in (
        Checkpoint.objects.filter(project=project, session__in=in_window.values("pk"))
        .order_by("created_at", "pk")
        .values_list("session_id", "pk", "kind", "score_total")
    ):
        checkpoints[session_id].append(_CheckpointRow(pk, kind, score))
    facts = []
    for pk, started_at, ended_at, cost_usd, tool_calls in sessions:
        pair = start_and_end(checkpoints[pk])
        change = None
        if pair and pair[0].score_total is not None and pair[1].score_total is not None:
            change = pair[1].score_total - pair[0].score_total
        facts.append(
            SessionFacts(
                started_at=started_at,
                minutes=None if ended_at is None else (ended_at - started_at).total_seconds() / 60,
                tool_calls=tool_calls or 0,
                cost_usd=None if cost_usd is None else float(cost_usd),
                score_change=change,
            )
        )
    return facts


def summarise(facts: list[SessionFacts], until: datetime, zone: ZoneInfo) -> dict:
    """Every statistic of the page from the sessions' facts."""
    minutes = [f.minutes for f in facts if f.minutes is not None]
    starts = [f.started_at.astimezone(zone) for f in facts]
    change = [f.score_change for f in facts]
    # The window's last local day is that of the last instant before `until`.
    last_day = (until - timedelta(microseconds=1)).astimezone(zone).date()
    return {
        "sessions": len(facts),
        "sessions_ended": len(minutes),
        "length_buckets": length_buckets(minutes),
        "median_minutes": median(minutes),
        "by_weekday": by_weekday(starts),
        "by_hour": by_hour(starts),
        "by_weekday_hour": by_weekday_hour(starts),
        "streaks": streaks({s.date() for s in starts}, last_day),
        "correlations": [
            correlation(name, xs, "score_change", change, method)
            for name, xs, method in (
                ("length_minutes", [f.minutes for f in facts], "spearman"),
                ("tool_calls", [float(f.tool_calls) for f in facts], "pearson"),
                ("cost_usd", [f.cost_usd for f in facts], "pearson"),
            )
        ],
    }


def session_stats(project: Project, since: datetime, until: datetime, zone: ZoneInfo) -> dict:
    """The project's session statistics over [since, until), days and hours in `zone`."""
    return {
        "window_start": since,
        "window_end": until,
        "time_zone": zone.key,
        **summarise(session_facts(project, since, until), until, zone),
    }
