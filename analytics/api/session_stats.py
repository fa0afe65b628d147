"""A project's session analytics over a window (analytics/session_stats.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.session_stats import session_stats
from tracking.api.invocations import TimeRangeSerializer
from tracking.api.schema import errors
from tracking.api.scope import project_or_404

DEFAULT_WINDOW = timedelta(days=30)


class BucketSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    share = serializers.FloatField(allow_null=True, help_text="0–1 of the ended sessions.")


class BucketsSerializer(serializers.Serializer):
    short = BucketSerializer(help_text="< 15 minutes.")
    medium = BucketSerializer(help_text="15 to < 60 minutes.")
    long = BucketSerializer(help_text="60 minutes or more.")


class StreaksSerializer(serializers.Serializer):
    active_days = serializers.IntegerField()
    longest_days = serializers.IntegerField()
    longest_start = serializers.DateField(allow_null=True)
    longest_end = serializers.DateField(allow_null=True)
    current_days = serializers.IntegerField()


class CorrelationSerializer(serializers.Serializer):
    x = serializers.CharField()
    y = serializers.CharField()
    n = serializers.IntegerField(help_text="Pairwise-complete sessions.")
    r = serializers.FloatField(allow_null=True)
    p = serializers.FloatField(allow_null=True)
    method = serializers.ChoiceField(choices=["pearson", "spearman"])


def _counts(keys: range, description: str) -> serializers.DictField:
    return serializers.DictField(
        child=serializers.IntegerField(), help_text=f"{description}: keys {keys[0]}–{keys[-1]}."
    )


class SessionStatsSerializer(serializers.Serializer):
    project = serializers.SlugField()
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    time_zone = serializers.CharField()
    sessions = serializers.IntegerField(help_text="Sessions started in the window.")
    sessions_ended = serializers.IntegerField(help_text="Of them ended: the n of lengths.")
    length_buckets = BucketsSerializer()
    median_minutes = serializers.FloatField(allow_null=True)
    by_weekday = _counts(range(1, 8), "Sessions by ISO weekday of their start")
    by_hour = _counts(range(24), "Sessions by hour of their start")
    streaks = StreaksSerializer()
    correlations = CorrelationSerializer(many=True)


class SessionStatsApi(APIView):
    @extend_schema(
        summary="Session analytics of a project",
        description="Sessions started in [`since`, `until`) (default: the 30 days ending now); "
        "days and hours in the display zone (see docs/analytics.md).",
        parameters=[TimeRangeSerializer],
        responses={200: SessionStatsSerializer, **errors(400, 401, 404)},
    )
    def get(self, request, slug: str):
        project = project_or_404(request.user, slug)
        given = TimeRangeSerializer(data=request.query_params)
        given.is_valid(raise_exception=True)
        until = given.validated_data.get("until") or datetime.now(UTC)
        since = given.validated_data.get("since") or until - DEFAULT_WINDOW
        body = session_stats(project, since, until, timezone.get_current_timezone())
        return Response(SessionStatsSerializer({"project": project.slug, **body}).data)
