"""A skill's trend over daily points from the hourly rollups (analytics/trends.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.api.skill_path import SKILL_PATH, skill_from_path
from analytics.trends import METRICS, skill_trend
from tracking.api.fields import AwareDateTimeField
from tracking.api.filters import QueryFilterSerializer
from tracking.api.schema import errors
from tracking.api.scope import project_or_404

MAX_DAYS = 366


class PointSerializer(serializers.Serializer):
    day = serializers.DateField()
    day_index = serializers.IntegerField(help_text="Days from the window's first day.")
    n = serializers.IntegerField(
        help_text="Decided invocations (completion rate), else invocations."
    )
    value = serializers.FloatField()


class TrendSerializer(serializers.Serializer):
    project = serializers.SlugField()
    skill = serializers.CharField()
    metric = serializers.ChoiceField(choices=METRICS)
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    window_days = serializers.IntegerField()
    n_points = serializers.IntegerField()
    points_excluded = serializers.IntegerField()
    points = PointSerializer(many=True)
    mk_tau = serializers.FloatField(allow_null=True)
    mk_p = serializers.FloatField(allow_null=True)
    mk_s = serializers.IntegerField(allow_null=True)
    sen_slope = serializers.FloatField(allow_null=True, help_text="Per day.")
    sen_intercept = serializers.FloatField(allow_null=True, help_text="At day_index 0.")
    sen_ci_low = serializers.FloatField(allow_null=True)
    sen_ci_high = serializers.FloatField(allow_null=True)
    ols_slope = serializers.FloatField(allow_null=True)
    ols_p = serializers.FloatField(allow_null=True)
    start_value = serializers.FloatField(allow_null=True)
    end_value = serializers.FloatField(allow_null=True)
    direction = serializers.ChoiceField(
        choices=["increasing", "decreasing", "no_trend", "insufficient_data"]
    )
    method = serializers.CharField()


class SkillTrendApi(APIView):
    class FilterSerializer(QueryFilterSerializer):
        project = serializers.SlugField(help_text="A project's slug.")
        metric = serializers.ChoiceField(choices=METRICS, default="completion_rate")
        days = serializers.IntegerField(default=14, min_value=1, max_value=MAX_DAYS)
        at = AwareDateTimeField(
            required=False,
            help_text="The window ends with the last full UTC day before it (default now).",
        )

    @extend_schema(
        summary="A skill's daily trend: Mann–Kendall, Theil–Sen, OLS",
        description="From the hourly rollups, on UTC days (see docs/analytics.md).",
        parameters=[
            FilterSerializer,
            SKILL_PATH,
        ],
        responses={200: TrendSerializer, **errors(400, 401, 404)},
    )
    def get(self, request, skill: str):
        return Response(trend_body(request.user, skill, request.query_params))


def trend_body(user, skill: str, query) -> dict:
    """A skill's trend for the project in `query` (validated here): the REST endpoint's body,
    also the MCP `trend` tool's (integrations/mcp)."""
    name = skill_from_path(skill)
    given = SkillTrendApi.FilterSerializer(data=query)
    given.is_valid(raise_exception=True)
    project = project_or_404(user, given.validated_data["project"])
    at = given.validated_data.get("at") or datetime.now(UTC)
    trend = skill_trend(
        project, name, given.validated_data["metric"], given.validated_data["days"], at
    )
    body = {"project": project.slug, "skill": name, **trend.as_dict()}
    return TrendSerializer(body).data
