"""Per-skill statistics over a time window, computed from the hourly rollups."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.skills import (
    PERCENTILE_METHOD,
    RANK_METHOD,
    SkillBaseline,
    last_hours,
    skill_baselines,
)
from lib import buckets
from lib.hours import floor_hour
from tracking.api.fields import TextField
from tracking.api.invocations import TimeRangeSerializer
from tracking.api.schema import errors
from tracking.api.scope import project_or_404
from tracking.auth import ApiKeyUser, visible_projects
from tracking.models import Project

MAX_WINDOW_HOURS = 366 * 24
# 1h to 8784h, or 1d to 366d, with no leading zero: the schema's pattern is this one regex.
WINDOW_PATTERN = (
    r"^(?:([1-9]\d{0,2}|[1-7]\d{3}|8[0-6]\d{2}|87[0-7]\d|878[0-4])h"
    r"|([1-9]\d?|[12]\d{2}|3[0-5]\d|36[0-6])d)$"
)
WINDOW = re.compile(WINDOW_PATTERN)


@extend_schema_field({"type": "string", "pattern": WINDOW_PATTERN})
class WindowField(serializers.CharField):
    """`<n>h` or `<n>d` (e.g. 1h, 24h, 7d, 30d) as a number of whole hours."""

    # A CharField on the way in, whole hours out: the stubs tie both to str.
    def to_internal_value(self, value) -> int:  # type: ignore[override]
        match = WINDOW.fullmatch(super().to_internal_value(value))
        if match is None:
            raise serializers.ValidationError(
                f"Use <n>h or <n>d (e.g. 24h, 7d), from 1h up to {MAX_WINDOW_HOURS // 24}d."
            )
        return int(match[1]) if match[1] else int(match[2]) * 24


class RateSerializer(serializers.Serializer):
    value = serializers.FloatField(
        source="completion_rate", allow_null=True, help_text="completed / (completed + failed)"
    )
    low = serializers.FloatField(source="completion_rate_low", allow_null=True)
    high = serializers.FloatField(source="completion_rate_high", allow_null=True)
    n = serializers.IntegerField(source="decided", help_text="Outcomes known: completed + failed.")
    method = serializers.CharField(default="wilson")
    confidence = serializers.FloatField(default=0.95)


class DurationSerializer(serializers.Serializer):
    n = serializers.IntegerField(source="duration_n")
    mean = serializers.FloatField(source="avg_duration_s", allow_null=True)
    stddev = serializers.FloatField(source="stddev_duration_s", allow_null=True)


class SkillFiguresSerializer(serializers.Serializer):
    skill = serializers.CharField()
    n = serializers.IntegerField(source="invocations", help_text="Invocations in the window.")
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    completed = serializers.IntegerField()
    failed = serializers.IntegerField()
    undecided = serializers.IntegerField()
    completion_rate = RateSerializer(source="*", help_text="Rate 0–1, Wilson 95% interval.")
    duration_s = DurationSerializer(source="*")
    unique_sessions = serializers.IntegerField()
    users = serializers.IntegerField(
        help_text="Distinct Session.user_name of the sessions that used the skill (named only)."
    )
    sessions = serializers.IntegerField(source="unique_sessions", help_text="Distinct sessions.")
    invocations = serializers.IntegerField()
    decided = serializers.IntegerField(help_text="completed + failed: the n of every rate.")
    rate_ci_low = serializers.FloatField(source="completion_rate_low", allow_null=True)
    rate_ci_high = serializers.FloatField(source="completion_rate_high", allow_null=True)
    rate_smoothed = serializers.FloatField(help_text="(completed + 1) / (decided + 2).")
    duration_p50 = serializers.FloatField(
        allow_null=True, help_text="Seconds; see percentile_method."
    )
    duration_p90 = serializers.FloatField(allow_null=True)
    duration_p95 = serializers.FloatField(allow_null=True)
    most_common_phase = serializers.CharField(
        allow_null=True, help_text="Non-empty phase with most invocations; ties: alphabetical."
    )
    effectiveness_percentile = serializers.FloatField(
        allow_null=True, help_text="0–100, see rank_method; null below 10 decided."
    )
    projects = serializers.IntegerField(help_text="Projects in which the skill was invoked.")


class SkillStatSerializer(SkillFiguresSerializer):
    across_projects = SkillFiguresSerializer(
        allow_null=True,
        help_text="The same skill over every project you may see (null when no project is given).",
    )


class SkillStatsOutputSerializer(serializers.Serializer):
    """Documents the answer; `rendered` builds the same JSON without it (see there)."""

    project = serializers.SlugField(allow_null=True)
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    skills = SkillStatSerializer(many=True)
    percentile_method = serializers.CharField(default=PERCENTILE_METHOD)
    percentile_max_relative_error = serializers.FloatField(default=buckets.MAX_RELATIVE_ERROR)
    rank_method = serializers.CharField(default=RANK_METHOD)


class WindowSerializer(TimeRangeSerializer):
    window = WindowField(
        required=False, trim_whitespace=False, help_text="1h, 24h, 7d, 30d… (default 24h)."
    )
    skill = TextField(required=False, max_length=200, help_text="Only this skill.")

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        if "window" in attrs and ("since" in attrs or "until" in attrs):
            raise serializers.ValidationError("Give either 'window' or 'since'/'until', not both.")
        if "until" in attrs and "since" not in attrs:
            raise serializers.ValidationError({"since": ["Required with 'until'."]})
        return attrs


def _bounds(given: dict) -> tuple[datetime, datetime]:
    """Whole hours covered: rollups are hourly, so an `until` inside an hour counts all of it."""
    now = datetime.now(UTC)
    if "since" not in given:
        return last_hours(given.get("window", 24), now), now
    until = given.get("until")
    if until is None:
        return floor_hour(given["since"]), now
    end = floor_hour(until)
    return floor_hour(given["since"]), end if end == until else end + timedelta(hours=1)


def _readable(user, projects: list[Project]) -> list[Project] | QuerySet[Project]:
    """Every project `user` may see: for a key, which sees exactly its project, that is
    `projects` already (no query to find it out)."""
    return projects if isinstance(user, ApiKeyUser) else visible_projects(user)


def skill_stats_body(user, query, projects, slug: str | None) -> dict:
    """The skills answer for `projects` over the window in `query` (validated here): the
    REST endpoints' body, also the MCP `skill_stats` tool's (integrations/mcp)."""
    given = WindowSerializer(data=query)
    given.is_valid(raise_exception=True)
    since, until = _bounds(given.validated_data)
    skill = given.validated_data.get("skill")
    across = _readable(user, projects) if slug is not None else None
    stats = skill_baselines(
        projects, since, until, skills=[skill] if skill else None, across=across
    )
    return rendered(slug, since, until, stats)


def rendered(slug: str | None, start: datetime, end: datetime, stats: list[SkillBaseline]) -> dict:
    """The answer as SkillStatsOutputSerializer renders it, built directly: through the
    serializer, 200 skills with their baselines across projects were about 10,000 field
    objects and a third of the request (docs/benchmarks.md, "Analytics at 10 million
    events"); tests/analytics/test_skills_rendering.py holds the two equal."""
    moment = serializers.DateTimeField().to_representation
    times = {start: moment(start), end: moment(end)}

    def when(value: datetime) -> str:
        if value not in times:
            times[value] = moment(value)
        return times[value]

    def figures(b: SkillBaseline) -> dict[str, Any]:
        return {
            "skill": b.skill,
            "n": b.invocations,
            "window_start": when(b.window_start),
            "window_end": when(b.window_end),
            "completed": b.completed,
            "failed": b.failed,
            "undecided": b.undecided,
            "completion_rate": {
                "value": b.completion_rate,
                "low": b.completion_rate_low,
                "high": b.completion_rate_high,
                "n": b.decided,
                "method": "wilson",
                "confidence": 0.95,
            },
            "duration_s": {
                "n": b.duration_n,
                "mean": b.avg_duration_s,
                "stddev": b.stddev_duration_s,
            },
            "unique_sessions": b.unique_sessions,
            "users": b.users,
            "sessions": b.unique_sessions,
            "invocations": b.invocations,
            "decided": b.decided,
            "rate_ci_low": b.completion_rate_low,
            "rate_ci_high": b.completion_rate_high,
            "rate_smoothed": b.rate_smoothed,
            "duration_p50": b.duration_p50,
            "duration_p90": b.duration_p90,
            "duration_p95": b.duration_p95,
            "most_common_phase": b.most_common_phase,
            "effectiveness_percentile": b.effectiveness_percentile,
            "projects": b.projects,
        }

    skills = []
    for baseline in stats:
        row = figures(baseline)
        wide = baseline.across_projects
        row["across_projects"] = None if wide is None else figures(wide)
        skills.append(row)
    return {
        "project": slug,
        "window_start": when(start),
        "window_end": when(end),
        "skills": skills,
        "percentile_method": PERCENTILE_METHOD,
        "percentile_max_relative_error": buckets.MAX_RELATIVE_ERROR,
        "rank_method": RANK_METHOD,
    }


def _stats_response(request, projects, slug: str | None) -> Response:
    return Response(skill_stats_body(request.user, request.query_params, projects, slug))


class ProjectSkillStatsApi(APIView):
    @extend_schema(
        summary="Per-skill statistics of a project",
        description="From the hourly rollups over `window` (default 24h, ending now) or "
        "`since`/`until` (widened to whole hours). Skills with no invocation are absent.",
        parameters=[WindowSerializer],
        responses={200: SkillStatsOutputSerializer, **errors(400, 401, 404)},
    )
    def get(self, request, slug: str):
        project = project_or_404(request.user, slug)
        return _stats_response(request, [project], project.slug)


class SkillStatsApi(APIView):
    class FilterSerializer(WindowSerializer):
        project = serializers.SlugField(required=False, help_text="Default: all you may see.")

    @extend_schema(
        summary="Per-skill statistics over the projects you may see",
        parameters=[FilterSerializer],
        responses={200: SkillStatsOutputSerializer, **errors(400, 401, 404)},
    )
    def get(self, request):
        slug = request.query_params.get("project")
        if slug is None:
            return _stats_response(request, visible_projects(request.user), None)
        return _stats_response(request, [project_or_404(request.user, slug)], slug)
