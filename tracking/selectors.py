"""Read-side queries for the history pages: one function per thing a page shows.

Views only parse the request, call these and render; other apps that add sections to the pages
add their own selectors beside these rather than queries in templates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.core.paginator import Page, Paginator
from django.db.models import (
    CharField,
    Count,
    F,
    IntegerField,
    JSONField,
    Max,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from tracking.auth import visible_projects
from tracking.models import ApiKey, Checkpoint, Project, Session, SkillInvocation
from tracking.panels import TokenSource, token_source

SESSIONS_PER_PAGE = 25
CHECKPOINTS_PER_PAGE = 25
TIMELINE_PER_PAGE = 50
# The chart shows the latest scored checkpoints; older ones stay reachable through sessions.
CHART_POINTS = 200
DEMO_PREFIX = "demo-"


def is_demo(project: Project) -> bool:
    """Demo projects are samples made by `seed_demo`, not measurements of a real repository."""
    return project.slug.startswith(DEMO_PREFIX)


def project_list(user) -> QuerySet[Project]:
    """The projects a user may see, with how many sessions each has and when it was last active."""
    return visible_projects(user).annotate(
        session_count=Count("sessions", distinct=True),
        last_activity=Max("sessions__started_at"),
    )


def project_for(user, slug: str) -> Project:
    """The project with this slug if the user may see it; 404 otherwise (hides its existence)."""
    return get_object_or_404(visible_projects(user), slug=slug)


def _count_of(model, **filters) -> Coalesce:
    rows = model.objects.filter(**filters).order_by().values(*filters).annotate(n=Count("pk"))
    return Coalesce(Subquery(rows.values("n")[:1]), 0, output_field=IntegerField())


def sessions_with_scores(project: Project) -> QuerySet[Session]:
    """A project's sessions, newest first, each with its latest checkpoint's score and counts."""
    latest = Checkpoint.objects.filter(session=OuterRef("pk")).order_by("-created_at", "-pk")
    return (
        Session.objects.filter(project=project)
        .annotate(
            latest_score=Subquery(latest.values("score_total")[:1]),
            latest_label=Subquery(latest.values("label")[:1]),
            latest_verdict=Subquery(latest.values("gate_verdict")[:1]),
            latest_points=Subquery(latest.values("points_measured")[:1]),
            latest_gate_results=Subquery(
                latest.values("gate_results")[:1], output_field=JSONField()
            ),
            checkpoint_count=_count_of(Checkpoint, session=OuterRef("pk")),
            invocation_count=_count_of(SkillInvocation, session=OuterRef("pk")),
        )
        .order_by("-started_at", "-pk")
    )


CHECKPOINT_KINDS = [kind for kind, _ in Checkpoint.KINDS]


def checkpoint_kind(value: str | None) -> str:
    """The kind a checkpoint list is filtered by: one of Checkpoint.KINDS, or "" for all (an
    unknown value included, so a stale or edited link shows every kind rather than nothing)."""
    return value if value in CHECKPOINT_KINDS else ""


def project_checkpoints(project: Project, kind: str = "") -> QuerySet[Checkpoint]:
    """A project's checkpoints newest first, of one kind when given; sessionless ones (CI)
    included, each with its session and project loaded for the list's links."""
    rows = Checkpoint.objects.filter(project=project).select_related("session", "project")
    if kind:
        rows = rows.filter(kind=kind)
    return rows.order_by("-created_at", "-pk")


def project_api_keys(project: Project) -> QuerySet[ApiKey]:
    """A project's API keys, active ones first, then newest first."""
    return project.api_keys.order_by(F("revoked_at").asc(nulls_first=True), "-created_at", "-pk")


def api_key_for(project: Project, pk: int) -> ApiKey:
    """The project's key with this id; 404 for another project's key."""
    return get_object_or_404(ApiKey, project=project, pk=pk)


def paginate(items, page_number: str | None, per_page: int) -> Page:
    """One page of items; a missing, bad or too large page number gives the nearest page."""
    return Paginator(items, per_page).get_page(page_number)


def score_points(project: Project, limit: int = CHART_POINTS) -> list[Checkpoint]:
    """The latest scored checkpoints of a project, oldest first (chart and its table)."""
    rows = (
        Checkpoint.objects.filter(project=project, score_total__isnull=False)
        .select_related("session", "project")
        .order_by("-created_at", "-pk")[:limit]
    )
    return list(reversed(rows))


def score_chart_data(points: list[Checkpoint]) -> dict:
    """What the score chart draws: one point per checkpoint, times in ISO 8601, each with the
    address of its checkpoint (a click on the point opens it)."""
    return {
        "ids": [c.pk for c in points],
        "urls": [c.get_absolute_url() for c in points],
        "labels": [c.created_at.isoformat() for c in points],
        # score_points gives scored checkpoints only; None would be a gap in the line.
        "scores": [None if c.score_total is None else round(c.score_total, 1) for c in points],
        "kinds": [c.kind for c in points],
    }


def session_for(project: Project, pk: int) -> Session:
    return get_object_or_404(
        Session.objects.select_related("project", "parent"), project=project, pk=pk
    )


def checkpoint_for(project: Project, pk: int) -> Checkpoint:
    return get_object_or_404(
        Checkpoint.objects.select_related("project", "session"), project=project, pk=pk
    )


@dataclass(frozen=True)
class TimelineEntry:
    kind: str  # "checkpoint" or "invocation"
    at: datetime
    item: Checkpoint | SkillInvocation


def _timeline_rows(session: Session) -> QuerySet:
    def rows(qs: QuerySet, kind: str, time_field: str) -> QuerySet:
        return (
            qs.order_by()
            .annotate(entry=Value(kind, output_field=CharField()), at=F(time_field))
            .values("entry", "pk", "at")
        )

    checkpoints = rows(Checkpoint.objects.filter(session=session), "checkpoint", "created_at")
    invocations = rows(SkillInvocation.objects.filter(session=session), "invocation", "invoked_at")
    return checkpoints.union(invocations, all=True).order_by("at", "entry", "pk")


def _time_of(item: Checkpoint | SkillInvocation) -> datetime:
    return item.created_at if isinstance(item, Checkpoint) else item.invoked_at


def session_timeline(session: Session, page_number: str | None) -> Page:
    """Checkpoints and invocations of a session interleaved by time, one page of them.

    The database pages the union of (kind, id, time) rows; only the page's objects are loaded.
    """
    page = paginate(_timeline_rows(session), page_number, TIMELINE_PER_PAGE)
    rows = list(page.object_list)
    wanted: dict[str, set[int]] = {"checkpoint": set(), "invocation": set()}
    for row in rows:
        wanted[row["entry"]].add(row["pk"])
    loaded: dict[str, Mapping[int, Checkpoint | SkillInvocation]] = {
        "checkpoint": Checkpoint.objects.in_bulk(wanted["checkpoint"]),
        "invocation": SkillInvocation.objects.in_bulk(wanted["invocation"]),
    }
    # The row's own time, not the union's column: SQLite hands raw union values back as text.
    page.object_list = [
        TimelineEntry(row["entry"], _time_of(item), item)
        for row in rows
        for item in [loaded[row["entry"]][row["pk"]]]
    ]
    return page


def session_token_rows(session: Session) -> list[tuple[str, int]]:
    """Token totals by kind, in the order people read them."""
    return [
        ("Input", session.input_tokens),
        ("Output", session.output_tokens),
        ("Cache creation", session.cache_creation_tokens),
        ("Cache read", session.cache_read_tokens),
        ("Total", session.total_tokens),
    ]


def session_tokens(session: Session) -> TokenSource | None:
    """The session's tokens and cost with their source: a registered source (the Claude Code
    transcript's requests), else the totals stored with the session; None if nothing recorded
    any usage (not measured, never 0)."""
    found = token_source(session)
    if found is not None:
        return found
    if not session.tokens_measured:
        return None
    detail = (
        "demo totals made by seed_demo, not measured"
        if is_demo(session.project)
        else "the totals stored with the session; no transcript was imported"
    )
    return TokenSource("session totals", detail, session_token_rows(session), session.cost_usd)


def session_outcomes(session: Session) -> dict:
    """How the session's invocations ended: completed, failed, undecided (no outcome known)."""
    counts = dict(
        SkillInvocation.objects.filter(session=session)
        .order_by()
        .values_list("completed")
        .annotate(n=Count("pk"))
    )
    return {
        "completed": counts.get(True, 0),
        "failed": counts.get(False, 0),
        "undecided": counts.get(None, 0),
    }


def checkpoint_measurements(checkpoint: Checkpoint) -> QuerySet:
    return checkpoint.measurements.order_by("key")
