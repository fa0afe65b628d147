"""Skills to try next, and similar users, from who completed which skill.

The matrix is binary, users × skills: 1 where the user (a named `Session.user_name`)
completed the skill at least once in the window (invocations in [at − days, at)).

- Item-item cosine: cos(i, j) = |U_i ∩ U_j| / √(|U_i|·|U_j|) over the users who completed
  each skill (scikit-learn's `cosine_similarity` on the matrix's columns).
- A user's score of a skill = Σ of its cosine to the skills the user completed, over skills
  the user has not tried (no invocation at all in the window), and only skills completed by at
  least MIN_USERS users; `because_of` lists the user's skills that add to it, largest first.
- Fallback, when item-item finds nothing (a new user, no overlap): popularity, the Wilson 95%
  lower bound of users who completed the skill over users who tried it.
- Similar users: Jaccard on distinct sets of completed skills, with at least MIN_COMMON
  skills in common.

The matrix of the default 90 days is stored hourly by the worker (`refresh_usage`, in
`UsagePass` and `UserSkillUse`) and read from there; another window, or an explicit `at`,
is read from the event log on the request.

analytics-anchors.md §4 and §8 (vectors REC-1, REC-2, REC-5).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import Count, Q
from scipy import sparse
from sklearn.metrics.pairwise import cosine_similarity

from analytics.models import UsagePass, UserSkillUse
from analytics.skills import wilson_interval
from lib.budget import before_deadline
from lib.hours import floor_hour
from tracking.models import Project, SkillInvocation

log = logging.getLogger(__name__)

DEFAULT_DAYS = 90
MIN_USERS = 5
MIN_COMMON = 3
LIMIT = 10
ITEM_METHOD = "item-item cosine on the binary user × completed-skill matrix"
POPULARITY_METHOD = "Wilson 95% lower bound of users who completed it / users who tried it"


@dataclass
class Usage:
    """Per user: the skills tried (any invocation) and completed (at least once)."""

    tried: dict[str, set[str]] = field(default_factory=dict)
    completed: dict[str, set[str]] = field(default_factory=dict)


def jaccard(a: set[str], b: set[str]) -> float:
    """|A ∩ B| / |A ∪ B| on distinct sets: at most 1 (0 for two empty sets)."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def usage(project: Project, start: datetime, end: datetime) -> Usage:
    """Who tried and who completed which skill in [start, end), named users only."""
    rows = (
        SkillInvocation.objects.filter(project=project, invoked_at__gte=start, invoked_at__lt=end)
        .exclude(session__user_name="")
        .exclude(session__isnull=True)
        .values_list("session__user_name", "skill")
        .annotate(ok=Count("id", filter=Q(completed=True)))
    )
    found = Usage()
    for user, skill, ok in rows:
        found.tried.setdefault(user, set()).add(skill)
        if ok:
            found.completed.setdefault(user, set()).add(skill)
    return found


def stored_usage(project: Project) -> tuple[Usage, datetime, datetime] | None:
    """The worker's stored matrix of the default window, with its window; None without one."""
    run = UsagePass.objects.filter(project=project).first()
    if run is None:
        return None
    found = Usage()
    rows = UserSkillUse.objects.filter(run=run).values_list("user_name", "skill", "completed")
    for user, skill, completed in rows.iterator(chunk_size=20_000):
        found.tried.setdefault(user, set()).add(skill)
        if completed:
            found.completed.setdefault(user, set()).add(skill)
    return found, run.window_start, run.window_end


@transaction.atomic
def store_usage(project: Project, found: Usage, start: datetime, end: datetime) -> None:
    """Replace the project's stored matrix with `found` over [start, end)."""
    UsagePass.objects.filter(project=project).delete()
    run = UsagePass.objects.create(
        project=project, window_start=start, window_end=end, computed_at=datetime.now(UTC)
    )
    UserSkillUse.objects.bulk_create(
        (
            UserSkillUse(
                run=run,
                user_name=user,
                skill=skill,
                completed=skill in found.completed.get(user, set()),
            )
            for user, skills in found.tried.items()
            for skill in skills
        ),
        batch_size=5_000,
    )


def refresh_usage(at: datetime | None = None, deadline: float | None = None) -> tuple[int, int]:
    """The worker's step: store every project's matrix of the DEFAULT_DAYS before `at`
    floored to the hour, once per hour (a project whose pass already ends there is left as it
    is), until the `deadline` (`lib.budget`). Returns the projects stored and those left for
    a later call; one that fails is logged, the others run."""
    end = floor_hour(at or datetime.now(UTC))
    start = end - timedelta(days=DEFAULT_DAYS)
    done = UsagePass.objects.filter(window_end=end).values("project_id")
    due = list(Project.objects.exclude(pk__in=done).order_by("pk"))
    stored = taken = 0
    for project in before_deadline(due, deadline):
        taken += 1
        try:
            store_usage(project, usage(project, start, end), start, end)
            stored += 1
        except Exception:
            log.exception("recommendation matrix of project %s at %s failed", project.slug, end)
    return stored, len(due) - taken


def item_cosines(completed: dict[str, set[str]]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(skills in order, the skill × skill cosine matrix, users who completed each skill)."""
    skills = sorted({s for done in completed.values() for s in done})
    index = {skill: i for i, skill in enumerate(skills)}
    rows, cols = [], []
    for row, done in enumerate(completed.values()):
        for skill in done:
            rows.append(row)
            cols.append(index[skill])
    matrix = sparse.csr_matrix(
        (np.ones(len(rows)), (rows, cols)), shape=(len(completed), len(skills))
    )
    cosines = cosine_similarity(matrix.T) if skills else np.zeros((0, 0))
    return skills, cosines, np.asarray(matrix.sum(axis=0)).ravel().astype(int)


def item_item(user: str, found: Usage, limit: int = LIMIT) -> list[dict]:
    """The user's untried skills scored by Σ cosine to the skills the user completed."""
    mine = found.completed.get(user, set())
    if not mine:
        return []
    skills, cosines, support = item_cosines(found.completed)
    tried = found.tried.get(user, set())
    own = [i for i, skill in enumerate(skills) if skill in mine]
    scored: list[dict[str, Any]] = []
    for j, skill in enumerate(skills):
        if skill in tried or support[j] < MIN_USERS:
            continue
        parts = sorted(
            ((float(cosines[i, j]), skills[i]) for i in own if cosines[i, j] > 0),
            key=lambda part: (-part[0], part[1]),
        )
        if not parts:
            continue
        scored.append(
            {
                "skill": skill,
                "score": math.fsum(c for c, _ in parts),
                "source": "item_item_cosine",
                "support_users": int(support[j]),
                "because_of": [{"skill": s, "cosine": c} for c, s in parts],
            }
        )
    scored.sort(key=lambda row: (-row["score"], row["skill"]))
    return scored[:limit]


def popularity(counts: dict[str, tuple[int, int]]) -> list[tuple[str, float]]:
    """Skills by the Wilson lower bound of `completed users / users who tried`, best first;
    `counts` maps skill → (completed users, users who tried), tried ≥ 1."""
    bounds = []
    for skill, (ok, n) in counts.items():
        interval = wilson_interval(ok, n)
        if interval is not None:
            bounds.append((skill, interval[0]))
    bounds.sort(key=lambda pair: (-pair[1], pair[0]))
    return bounds


def popular(user: str, found: Usage, limit: int = LIMIT) -> list[dict]:
    """The fallback: untried skills that at least MIN_USERS users tried, by popularity."""
    tried_by: dict[str, int] = {}
    done_by: dict[str, int] = {}
    for skills in found.tried.values():
        for skill in skills:
            tried_by[skill] = tried_by.get(skill, 0) + 1
    for skills in found.completed.values():
        for skill in skills:
            done_by[skill] = done_by.get(skill, 0) + 1
    mine = found.tried.get(user, set())
    counts = {
        skill: (done_by.get(skill, 0), n)
        for skill, n in tried_by.items()
        if n >= MIN_USERS and skill not in mine
    }
    return [
        {
            "skill": skill,
            "score": bound,
            "source": "popularity",
            "support_users": done_by.get(skill, 0),
            "because_of": [],
        }
        for skill, bound in popularity(counts)[:limit]
    ]


def similar_users(user: str, completed: dict[str, set[str]], limit: int = LIMIT) -> list[dict]:
    """Users whose completed skills overlap the user's by at least MIN_COMMON, by Jaccard."""
    mine = completed.get(user, set())
    found: list[dict[str, Any]] = []
    for other, theirs in completed.items():
        common = len(mine & theirs)
        if other != user and common >= MIN_COMMON:
            found.append({"user": other, "jaccard": jaccard(mine, theirs), "common_skills": common})
    found.sort(key=lambda row: (-row["jaccard"], row["user"]))
    return found[:limit]


def recommendations(
    project: Project,
    user: str,
    days: int = DEFAULT_DAYS,
    at: datetime | None = None,
    limit: int = LIMIT,
) -> dict:
    """Skills for `user` to try in `project` and the users most like them, over the `days`
    before `at` (default now); with the window, n (users) and the method."""
    stored = stored_usage(project) if at is None and days == DEFAULT_DAYS else None
    if stored is not None:
        found, start, end = stored
    else:
        end = at or datetime.now(UTC)
        start = end - timedelta(days=days)
        found = usage(project, start, end)
    items = item_item(user, found, limit)
    method = ITEM_METHOD if items else POPULARITY_METHOD
    return {
        "user": user,
        "window_start": start,
        "window_end": end,
        "n": len(found.tried),
        "user_known": user in found.tried,
        "user_completed": sorted(found.completed.get(user, set())),
        "method": method,
        "origin": "computed" if stored is None else "stored",
        "computed_at": datetime.now(UTC),
        "min_users": MIN_USERS,
        "min_common_skills": MIN_COMMON,
        "recommendations": items or popular(user, found, limit),
        "similar_users": similar_users(user, found.completed, limit),
    }
