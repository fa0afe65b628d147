"""The analytics pages: the live dashboard, a project's skills, a skill, the anomalies, a
project's session patterns and its experiments (one experiment's results). Login required; a
project the user may not see is a 404.

Each view parses its query with the API's own fields (the same messages for the same mistakes;
a bad query is a 400 page naming the parameter), calls the functions the REST endpoints call
and renders. Every figure comes from the rollups through those functions.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from rest_framework import serializers
from rest_framework.exceptions import NotFound

from analytics import skills as skill_figures
from analytics.api.anomalies import AnomalyListApi
from analytics.api.skills import WindowField
from analytics.dependencies import MIN_COUNT, MIN_SESSIONS, related_skills
from analytics.experiments.cache import current_results
from analytics.experiments.display import displayed
from analytics.models import DependencyPass, Experiment, SkillAnomaly, SkillDependency
from analytics.predictor import store as predictor_store
from analytics.session_stats import session_stats
from analytics.skill_panels import skill_panels
from analytics.trends import skill_trends
from lib.text import check_text
from tracking import selectors
from tracking.api.fields import AwareDateTimeField
from tracking.api.filters import QueryFilterSerializer
from tracking.api.scope import filtered
from tracking.auth import visible_projects
from tracking.models import Project, SkillHourly

# The windows the pages offer as links; any window the API takes (1h–366d) is accepted.
WINDOW_LINKS = ("7d", "14d", "30d", "90d")
DEFAULT_WINDOW = "30d"
DEFAULT_HOURS = 30 * 24
ANOMALIES_PER_PAGE = 25
SKILL_ANOMALIES_PER_PAGE = 10
# Longer trend windows show duration percentiles per block of 7 days rather than per day.
DAILY_PERCENTILES_UP_TO_DAYS = 31
# The skill page and the Skills page read the worker's default dependency pass.
DEPENDENCY_DAYS = 90
TOP_PAIRS = 20
LENGTHS = (("short", "under 15 min"), ("medium", "15 to 60 min"), ("long", "60 min or more"))
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@login_required
def live(request: HttpRequest) -> HttpResponse:
    return render(request, "analytics/live.html", {"tick_seconds": settings.LIVE_TICK_SECONDS})


class PageQuery(QueryFilterSerializer):
    """The query of a windowed page: `window` (as the API's, e.g. 7d) ending at `at`."""

    window = WindowField(required=False, trim_whitespace=False)
    at = AwareDateTimeField(required=False, help_text="The window ends here (default now).")


class QueryError(Exception):
    """A query the page cannot show, with the messages naming each bad parameter."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


def _messages(errors: dict | list) -> list[str]:
    """`serializer.errors` as "field: message" lines."""
    if isinstance(errors, list):
        return [str(e) for e in errors]
    return [
        f"{name}: {message}" if name != "non_field_errors" else str(message)
        for name, found in errors.items()
        for message in (found if isinstance(found, list) else [found])
    ]


def _parse(serializer_class: type[serializers.Serializer], data) -> dict:
    given = serializer_class(data=data)
    if not given.is_valid():
        raise QueryError(_messages(given.errors))
    return dict(given.validated_data)


def _query_error(request: HttpRequest, error: QueryError, ctx: dict) -> HttpResponse:
    ctx = {**ctx, "errors": error.messages, "page_url": request.path}
    return render(request, "analytics/query_error.html", ctx, status=400)


def _window_context(request: HttpRequest, query: dict, start: datetime, end: datetime) -> dict:
    """What the window selector and the window line of a page show."""
    given = request.GET.get("window", DEFAULT_WINDOW) if "window" in query else DEFAULT_WINDOW
    links = []
    for window in WINDOW_LINKS:
        params = request.GET.copy()
        params["window"] = window
        params.pop("page", None)
        params.pop("apage", None)
        links.append({"window": window, "query": params.urlencode(), "current": window == given})
    return {
        "window": given,
        "window_links": links,
        "window_start": start,
        "window_end": end,
        "as_of": query.get("at"),
    }


def _project_context(request: HttpRequest, slug: str) -> dict:
    project = selectors.project_for(request.user, slug)
    return {"project": project, "is_demo": selectors.is_demo(project)}


def _top_pairs(project: Project) -> dict:
    """The worker's stored default dependency pass of `project` and its TOP_PAIRS pairs of
    highest lift (only pairs meeting the minimum are stored), for the Skills page's matrix."""
    run = DependencyPass.objects.filter(project=project, days=DEPENDENCY_DAYS).first()
    pairs = []
    if run is not None:
        pairs = list(
            SkillDependency.objects.filter(run=run).order_by("-lift", "skill_a", "skill_b")[
                :TOP_PAIRS
            ]
        )
    return {
        "run": run,
        "pairs": pairs,
        "days": DEPENDENCY_DAYS,
        "min_sessions": MIN_SESSIONS,
        "min_count": MIN_COUNT,
    }


@login_required
def project_skills(request: HttpRequest, slug: str) -> HttpResponse:
    """A project's skill baselines over the window, beside each skill's baseline over every
    project the user may see (`skill_baselines`, as `GET /api/v1/projects/<slug>/skills`),
    and the strongest pairs of skills used together (the stored dependency pass)."""
    ctx = _project_context(request, slug)
    try:
        query = _parse(PageQuery, request.GET)
    except QueryError as error:
        return _query_error(request, error, ctx)
    end = query.get("at") or datetime.now(UTC)
    since = skill_figures.last_hours(query.get("window", DEFAULT_HOURS), end)
    rows = skill_figures.skill_baselines(
        [ctx["project"]], since, end, across=visible_projects(request.user)
    )
    ctx.update(
        _window_context(request, query, since, end),
        skills=rows,
        percentile_method=skill_figures.PERCENTILE_METHOD,
        rank_method=skill_figures.RANK_METHOD,
        ranked_min=skill_figures.RANKED_MIN_DECIDED,
        dependencies=_top_pairs(ctx["project"]),
    )
    return render(request, "analytics/project_skills.html", ctx)


def _trend_chart(trend) -> dict:
    """A trend's daily points at their UTC midnight and its Theil–Sen line between the first
    and last point kept (None under the minimum data), for static/analytics/skill_charts.js."""
    day = timedelta(days=1)
    start = trend.window_start
    line = None
    if trend.sen_slope is not None and trend.sen_intercept is not None and trend.points:
        ends = (trend.points[0].day_index, trend.points[-1].day_index)
        line = [
            {"t": (start + i * day).isoformat(), "y": trend.sen_intercept + trend.sen_slope * i}
            for i in ends
        ]
    return {
        "metric": trend.metric,
        "points": [
            {"t": (start + p.day_index * day).isoformat(), "y": p.value, "n": p.n}
            for p in trend.points
        ],
        "sen_line": line,
        "window_start": start.isoformat(),
        "window_end": trend.window_end.isoformat(),
    }


def _percentile_chart(periods: list[skill_figures.PercentilePeriod]) -> dict:
    return {
        "t": [datetime.combine(p.start, datetime.min.time(), UTC).isoformat() for p in periods],
        "n": [p.n for p in periods],
        "p50": [p.p50 for p in periods],
        "p90": [p.p90 for p in periods],
        "p95": [p.p95 for p in periods],
    }


def _skill_or_404(project: Project, skill: str) -> str:
    """The skill of the path if this project ever invoked it (a rollup row exists)."""
    try:
        check_text(skill, "skill")
    except ValueError:
        raise Http404("No such skill.") from None
    if not SkillHourly.objects.filter(project=project, skill=skill).exists():
        raise Http404("No such skill in this project.")
    return skill


@login_required
def skill_detail(request: HttpRequest, slug: str, skill: str) -> HttpResponse:
    """One skill of a project: its trends (`skill_trends`, as the trend endpoint), its
    baseline, its duration percentiles over time, its anomalies, open and past, the skills
    used with it (the stored 90-day dependency pass), the project's success predictor and
    the panels other apps register (`analytics.skill_panels`)."""
    ctx = _project_context(request, slug)
    skill = _skill_or_404(ctx["project"], skill)
    ctx["skill"] = skill
    try:
        query = _parse(PageQuery, request.GET)
        hours = query.get("window", DEFAULT_HOURS)
        if hours % 24:
            raise QueryError(["window: Use whole days on this page (e.g. 14d): trends are daily."])
    except QueryError as error:
        return _query_error(request, error, ctx)
    at = query.get("at") or datetime.now(UTC)
    trends = skill_trends(ctx["project"], skill, hours // 24, at)
    start, end = trends[0].window_start, trends[0].window_end
    baseline = skill_figures.skill_baselines(
        [ctx["project"]], start, end, skills=[skill], across=visible_projects(request.user)
    )
    period_days = 1 if hours // 24 <= DAILY_PERCENTILES_UP_TO_DAYS else 7
    periods = skill_figures.duration_percentiles_over_time(
        ctx["project"], skill, start, end, period_days
    )
    anomalies = SkillAnomaly.objects.filter(project=ctx["project"], skill=skill).order_by(
        "-opened_at", "-pk"
    )
    ctx.update(
        _window_context(request, query, start, end),
        trends=trends,
        charts={
            "trends": [_trend_chart(t) for t in trends],
            "percentiles": _percentile_chart(periods),
            "window_start": start.isoformat(),
            "window_end": end.isoformat(),
        },
        baseline=baseline[0] if baseline else None,
        percentiles=periods,
        period_days=period_days,
        percentile_method=skill_figures.PERCENTILE_METHOD,
        open_anomalies=list(anomalies.filter(status=SkillAnomaly.OPEN)),
        past_anomalies=selectors.paginate(
            anomalies.filter(status=SkillAnomaly.RESOLVED),
            request.GET.get("apage"),
            SKILL_ANOMALIES_PER_PAGE,
        ),
        related=related_skills(ctx["project"], skill, days=DEPENDENCY_DAYS),
        predictor=predictor_store.status(ctx["project"]),
        panels=skill_panels(ctx["project"], skill, at),
    )
    return render(request, "analytics/skill_detail.html", ctx)


@login_required
def anomaly_list(request: HttpRequest) -> HttpResponse:
    """Stored anomalies of the projects the user may see, filtered as `GET /api/v1/anomalies`
    is, newest opened first, paged. A filter left empty by the form means "any"."""
    projects = visible_projects(request.user).order_by("name")
    ctx: dict = {"projects": projects, "metrics": SkillAnomaly.METRICS}
    ctx["statuses"] = SkillAnomaly.STATUSES
    given = {k: v for k, v in request.GET.items() if v != "" and k != "page"}
    ctx["filters"] = given
    try:
        filters = _parse(AnomalyListApi.FilterSerializer, given)
    except QueryError as error:
        return _query_error(request, error, ctx)
    try:
        rows = filtered(
            SkillAnomaly.objects.select_related("project"),
            request.user,
            filters,
            AnomalyListApi.LOOKUPS,
        )
    except NotFound:
        raise Http404("No such project.") from None
    ctx["anomalies"] = selectors.paginate(
        rows.order_by("-opened_at", "-pk"), request.GET.get("page"), ANOMALIES_PER_PAGE
    )
    return render(request, "analytics/anomaly_list.html", ctx)


def heat_map(by_weekday_hour: dict[str, dict[str, int]], by_weekday: dict[str, int]) -> list[dict]:
    """The heat map's rows (Monday first) with their totals, each cell with its count and its
    share of the busiest cell (0–1), which sets its shade."""
    busiest = max((n for hours in by_weekday_hour.values() for n in hours.values()), default=0)
    return [
        {
            "weekday": day,
            "name": WEEKDAYS[day - 1],
            "total": by_weekday[str(day)],
            "cells": [
                {"hour": h, "count": n, "shade": n / busiest if busiest else 0.0}
                for h, n in ((h, by_weekday_hour[str(day)][str(h)]) for h in range(24))
            ],
        }
        for day in range(1, 8)
    ]


@login_required
def session_patterns(request: HttpRequest, slug: str) -> HttpResponse:
    """When a project's sessions start (weekday × hour in the display zone), how long they
    last, the streaks and what goes with a score change (`session_stats`, as
    `GET /api/v1/projects/<slug>/session-stats`)."""
    ctx = _project_context(request, slug)
    try:
        query = _parse(PageQuery, request.GET)
    except QueryError as error:
        return _query_error(request, error, ctx)
    until = query.get("at") or datetime.now(UTC)
    since = until - timedelta(hours=query.get("window", DEFAULT_HOURS))
    stats = session_stats(ctx["project"], since, until, timezone.get_current_timezone())
    buckets = stats["length_buckets"]
    tallest = max(b["count"] for b in buckets.values())

    def bar(count: int) -> float:
        return count / tallest if tallest else 0.0

    ctx.update(
        _window_context(request, query, since, until),
        stats=stats,
        heat_map=heat_map(stats["by_weekday_hour"], stats["by_weekday"]),
        hours=range(24),
        lengths=[
            {"name": name, "label": label, **buckets[name], "bar": bar(buckets[name]["count"])}
            for name, label in LENGTHS
        ],
    )
    return render(request, "analytics/session_patterns.html", ctx)


@login_required
def experiment_list(request: HttpRequest, slug: str) -> HttpResponse:
    project = selectors.project_for(request.user, slug)
    experiments = Experiment.objects.filter(project=project).annotate(units=Count("exposures"))
    return render(
        request,
        "analytics/experiment_list.html",
        {"project": project, "experiments": experiments},
    )


@login_required
def experiment_detail(request: HttpRequest, slug: str, key: str) -> HttpResponse:
    project = selectors.project_for(request.user, slug)
    experiment = get_object_or_404(Experiment, project=project, key=key)
    results = displayed(current_results(experiment))
    return render(
        request,
        "analytics/experiment_detail.html",
        {"project": project, "experiment": experiment, "results": results},
    )
