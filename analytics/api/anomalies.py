"""Stored anomalies, filtered and walked with a cursor, most recently opened first."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from analytics.models import SkillAnomaly
from tracking.api.fields import AwareDateTimeField, TextField
from tracking.api.filters import QueryFilterSerializer
from tracking.api.pagination import KeysetPagination, paginated_response
from tracking.api.schema import errors
from tracking.api.scope import filtered
from tracking.models import Project


class AnomalySerializer(serializers.ModelSerializer):
    project: serializers.SlugRelatedField[Project] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = SkillAnomaly
        fields = ["id", "project", *SkillAnomaly.SHOWN_FIELDS]
        read_only_fields = fields


class AnomalyListApi(APIView):
    """Forward cursor pagination by (opened_at, id) descending: each anomaly exactly once."""

    pagination_class = KeysetPagination
    cursor_field = "opened_at"
    # Each filter's lookup (the anomalies page filters the same way).
    LOOKUPS = {
        "skill": "skill",
        "metric": "metric",
        "status": "status",
        "since": "last_seen_at__gte",
    }

    class FilterSerializer(QueryFilterSerializer):
        project = serializers.SlugField(required=False, help_text="A project's slug.")
        skill = TextField(required=False, max_length=200)
        metric = serializers.ChoiceField(choices=SkillAnomaly.METRICS, required=False)
        status = serializers.ChoiceField(choices=SkillAnomaly.STATUSES, required=False)
        since = AwareDateTimeField(
            required=False, help_text="Last flagged at or after (ISO 8601 with zone)."
        )

    @extend_schema(
        summary="Skill anomalies, most recently opened first",
        description="Written by `manage.py analytics_worker` (see docs/analytics.md).",
        parameters=[FilterSerializer],
        responses={200: AnomalySerializer(many=True), **errors(400, 401, 404)},
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        rows = filtered(
            SkillAnomaly.objects.select_related("project"),
            request.user,
            filters.validated_data,
            self.LOOKUPS,
        )
        return paginated_response(self, request, rows, AnomalySerializer)
