"""Skills that go together: association measures over sessions as transactions.

A session is a transaction: the set of distinct skills it used. N is the number of sessions
that started in the window [at − days, at) and used at least one skill before `at`. For a
pair (A, B) with n_A, n_B and n_AB sessions (analytics-anchors.md §4 and §8):

- support n_AB/N; confidence(A→B) n_AB/n_A and (B→A) n_AB/n_B;
- lift n_AB·N/(n_A·n_B); leverage s(AB) − s(A)s(B);
- conviction(A→B) (1 − s(B))/(1 − confidence(A→B)), None when infinite (confidence 1);
- Jaccard n_AB/(n_A + n_B − n_AB) on the distinct sets;
- a one-sided Fisher exact p (the pair is used together more than by chance: the
  hypergeometric upper tail) and its Benjamini–Hochberg q over the pairs that meet the
  minimum (N ≥ 50 sessions, n_AB ≥ 5). A band is given only where q < 0.05.

Read from the `SkillSessionHour` rollup (which sessions used a skill in an hour), never from
the event log. The worker stores a pass per project (`refresh_dependencies`); the API reads it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta

import numpy as np
from django.db import transaction
from django.db.models import Q
from scipy import sparse, stats

from analytics.models import DependencyPass, SkillDependency
from lib.budget import before_deadline
from lib.hours import floor_hour
from lib.sql import insert_rows
from tracking.models import Project, SkillSessionHour

log = logging.getLogger(__name__)

DEFAULT_DAYS = 90
MIN_SESSIONS = 50
MIN_COUNT = 5
Q_MAX = 0.05
# The reference's lift bands (analytics-anchors.md §4), meaningful only once q < Q_MAX.
BANDS = ((2.0, "strong"), (1.5, "moderate"), (1.0, "weak"))
METHOD = (
    "sessions as transactions of distinct skills; one-sided Fisher exact (hypergeometric upper "
    "tail) per pair, Benjamini–Hochberg over the pairs with N ≥ 50 and count_ab ≥ 5"
)


@dataclass
class Pair:
    """The measures of one pair, skill_a < skill_b."""

    skill_a: str
    skill_b: str
    count_a: int
    count_b: int
    count_ab: int
    support: float
    confidence_ab: float
    confidence_ba: float
    lift: float
    leverage: float
    conviction_ab: float | None
    conviction_ba: float | None
    jaccard: float
    p_value: float
    q_value: float = 1.0
    band: str = ""


@dataclass
class Dependencies:
    """A pass: the window, N and the pairs that meet the minimum, strongest lift first."""

    window_start: datetime
    window_end: datetime
    days: int
    n_sessions: int
    pairs: list[Pair]
    computed_at: datetime
    method: str = METHOD


def conviction(confidence: float, consequent_support: float) -> float | None:
    """(1 − s(C))/(1 − confidence); None for an infinite conviction (confidence 1)."""
    if confidence >= 1.0:
        return None
    return (1.0 - consequent_support) / (1.0 - confidence)


def band_of(lift: float, q_value: float) -> str:
    """'strong' / 'moderate' / 'weak' for a significant pair (q < 0.05), else ''."""
    if q_value >= Q_MAX:
        return ""
    return next((name for bound, name in BANDS if lift > bound), "")


def pairs_of(
    transactions: Iterable[Iterable[str]],
    min_sessions: int = MIN_SESSIONS,
    min_count: int = MIN_COUNT,
) -> tuple[int, list[Pair]]:
    """N and the measured pairs of `transactions` (each an iterable of skills; repeats count
    once). Fewer than `min_sessions` transactions give no pairs."""
    index: dict[str, int] = {}
    rows, cols = [], []
    n = 0
    for skills in transactions:
        distinct = set(skills)
        if not distinct:
            continue
        for skill in distinct:
            rows.append(n)
            cols.append(index.setdefault(skill, len(index)))
        n += 1
    if n < min_sessions or not index:
        return n, []
    names = sorted(index)
    order = np.array([index[name] for name in names])
    matrix = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.int64), (rows, cols)), shape=(n, len(index))
    )[:, order]
    co = sparse.triu(matrix.T @ matrix, k=1).tocoo()
    keep = co.data >= min_count
    a, b, n_ab = co.row[keep], co.col[keep], co.data[keep].astype(np.int64)
    counts = np.asarray(matrix.sum(axis=0)).ravel().astype(np.int64)
    return n, _measured(names, n, counts, a, b, n_ab)


def _measured(
    names: list[str], n: int, counts: np.ndarray, a: np.ndarray, b: np.ndarray, n_ab: np.ndarray
) -> list[Pair]:
    if len(n_ab) == 0:
        return []
    n_a, n_b = counts[a], counts[b]
    # P(X ≥ n_AB) for X ~ Hypergeom(N, n_A, n_B): Fisher's one-sided p, vectorised.
    p = stats.hypergeom.sf(n_ab - 1, n, n_a, n_b)
    q = stats.false_discovery_control(p, method="bh")
    s_a, s_b, s_ab = n_a / n, n_b / n, n_ab / n
    lift = n_ab * n / (n_a * n_b)
    pairs = []
    for i in range(len(n_ab)):
        conf_ab, conf_ba = float(n_ab[i] / n_a[i]), float(n_ab[i] / n_b[i])
        pairs.append(
            Pair(
                skill_a=names[a[i]],
                skill_b=names[b[i]],
                count_a=int(n_a[i]),
                count_b=int(n_b[i]),
                count_ab=int(n_ab[i]),
                support=float(s_ab[i]),
                confidence_ab=conf_ab,
                confidence_ba=conf_ba,
                lift=float(lift[i]),
                leverage=float(s_ab[i] - s_a[i] * s_b[i]),
                conviction_ab=conviction(conf_ab, float(s_b[i])),
                conviction_ba=conviction(conf_ba, float(s_a[i])),
                jaccard=float(n_ab[i] / (n_a[i] + n_b[i] - n_ab[i])),
                p_value=float(p[i]),
                q_value=float(q[i]),
                band=band_of(float(lift[i]), float(q[i])),
            )
        )
    pairs.sort(key=lambda pair: (-pair.lift, pair.skill_a, pair.skill_b))
    return pairs


def window(days: int, at: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the sessions counted: `at` floored to the hour (the rollup's grain)."""
    end = floor_hour(at)
    return end - timedelta(days=days), end


def session_skills(project: Project, start: datetime, end: datetime) -> list[set[str]]:
    """The distinct skills of each session that started in [start, end), used before `end`."""
    rows = (
        SkillSessionHour.objects.filter(
            project=project,
            hour__gte=floor_hour(start),
            hour__lt=end,
            session__started_at__gte=start,
            session__started_at__lt=end,
        )
        .values_list("session_id", "skill")
        .distinct()
    )
    by_session: dict[int, set[str]] = {}
    for session, skill in rows.iterator(chunk_size=20_000):
        by_session.setdefault(session, set()).add(skill)
    return list(by_session.values())


def compute(project: Project, days: int = DEFAULT_DAYS, at: datetime | None = None) -> Dependencies:
    """The dependencies of `project` over the `days` before `at` (default now)."""
    start, end = window(days, at or datetime.now(UTC))
    n, pairs = pairs_of(session_skills(project, start, end))
    return Dependencies(start, end, days, n, pairs, datetime.now(UTC))


@transaction.atomic
def store(project: Project, result: Dependencies) -> DependencyPass:
    """Replace the project's stored pass for `result.days` with `result`."""
    DependencyPass.objects.filter(project=project, days=result.days).delete()
    run = DependencyPass.objects.create(
        project=project,
        days=result.days,
        window_start=result.window_start,
        window_end=result.window_end,
        n_sessions=result.n_sessions,
        pairs_tested=len(result.pairs),
        computed_at=result.computed_at,
        method=result.method,
        params={"min_sessions": MIN_SESSIONS, "min_count": MIN_COUNT, "q_max": Q_MAX},
    )
    # One array per column (lib.sql): 20,000 pairs took 3.2 s as model instances.
    names = [f.name for f in fields(Pair)]
    insert_rows(
        SkillDependency,
        ["run_id", *names],
        [(run.pk, *(getattr(pair, name) for name in names)) for pair in result.pairs],
    )
    return run


def refresh_dependencies(
    at: datetime | None = None, deadline: float | None = None
) -> tuple[int, int]:
    """The worker's step: compute and store every project's default-window pass, once per
    hour (the window ends at `at` floored to the hour; a project whose stored pass already
    ends there is left as it is), until the `deadline` (`lib.budget`). Returns the passes
    stored and the projects left for a later call; a project that fails is logged and the
    others still run."""
    _, end = window(DEFAULT_DAYS, at or datetime.now(UTC))
    done = DependencyPass.objects.filter(days=DEFAULT_DAYS, window_end=end)
    due = list(Project.objects.exclude(pk__in=done.values("project_id")).order_by("pk"))
    stored = taken = 0
    for project in before_deadline(due, deadline):
        taken += 1
        try:
            store(project, compute(project, DEFAULT_DAYS, end))
            stored += 1
        except Exception:
            log.exception("dependency pass of project %s at %s failed", project.slug, end)
    return stored, len(due) - taken


def oriented(pair: Pair | SkillDependency, skill: str) -> dict:
    """A pair seen from `skill`: `skill` is the antecedent (a), the other skill is b."""
    row = {name: getattr(pair, name) for name in SHOWN}
    if pair.skill_a == skill:
        return {"skill": pair.skill_b, **row}
    return {
        **row,
        "skill": pair.skill_a,
        "count_a": pair.count_b,
        "count_b": pair.count_a,
        "confidence_ab": pair.confidence_ba,
        "confidence_ba": pair.confidence_ab,
        "conviction_ab": pair.conviction_ba,
        "conviction_ba": pair.conviction_ab,
    }


SHOWN = (
    "count_a", "count_b", "count_ab", "support", "confidence_ab", "confidence_ba", "lift",
    "leverage", "conviction_ab", "conviction_ba", "jaccard", "p_value", "q_value", "band",
)  # fmt: skip


def related_skills(
    project: Project, skill: str, days: int = DEFAULT_DAYS, at: datetime | None = None
) -> dict:
    """The skills used together with `skill` in `project`, strongest lift first.

    Without `at`, the worker's stored pass for `days` is read when there is one (its window
    and computed_at say how fresh it is); otherwise, or with `at`, the pass is computed from
    the rollup. Each related skill is oriented from `skill`: count_a, confidence_ab and
    conviction_ab are `skill`'s side. `origin` is "stored" or "computed".
    """
    run = None
    if at is None:
        run = DependencyPass.objects.filter(project=project, days=days).first()
    if run is not None:
        rows = SkillDependency.objects.filter(run=run).filter(Q(skill_a=skill) | Q(skill_b=skill))
        related = [oriented(row, skill) for row in rows]
        meta = {
            "window_start": run.window_start,
            "window_end": run.window_end,
            "n_sessions": run.n_sessions,
            "pairs_tested": run.pairs_tested,
            "computed_at": run.computed_at,
            "method": run.method,
            "origin": "stored",
        }
    else:
        result = compute(project, days, at)
        related = [oriented(p, skill) for p in result.pairs if skill in (p.skill_a, p.skill_b)]
        meta = {
            "window_start": result.window_start,
            "window_end": result.window_end,
            "n_sessions": result.n_sessions,
            "pairs_tested": len(result.pairs),
            "computed_at": result.computed_at,
            "method": result.method,
            "origin": "computed",
        }
    related.sort(key=lambda row: (-row["lift"], row["skill"]))
    return {
        "skill": skill,
        "days": days,
        **meta,
        "min_sessions": MIN_SESSIONS,
        "min_count": MIN_COUNT,
        "related": related,
    }
