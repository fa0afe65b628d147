"""Skill invocations: the event log, filtered and walked with a cursor, newest first."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from tracking.api.fields import AwareDateTimeField, TextField
from tracking.api.filters import QueryFilterSerializer
from tracking.api.pagination import KeysetPagination, paginated_response
from tracking.api.schema import errors
from tracking.api.scope import filtered
from tracking.models import Project, SkillInvocation


class InvocationSerializer(serializers.ModelSerializer):
    project: serializers.SlugRelatedField[Project] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    session_external_id = serializers.CharField(
        source="session.external_id", read_only=True, allow_null=True
    )
    key = serializers.CharField(source="idempotency_key", read_only=True)

    class Meta:
        model = SkillInvocation
        fields = [
            "id",
            "key",
            "project",
            "session",
            "session_external_id",
            "skill",
            "invoked_at",
            "completed",
            "duration_s",
            "phase",
            "error_type",
            "source",
        ]
        read_only_fields = fields


class TimeRangeSerializer(QueryFilterSerializer):
    since = AwareDateTimeField(required=False, help_text="At or after (ISO 8601 with zone).")
    until = AwareDateTimeField(required=False, help_text="Before (ISO 8601 with zone).")

    def validate(self, attrs: dict) -> dict:
        if "since" in attrs and "until" in attrs and attrs["since"] >= attrs["until"]:
            raise serializers.ValidationError({"until": ["Must be later than 'since'."]})
        return attrs


class InvocationListApi(APIView):
    """Forward cursor pagination by (invoked_at, id) descending: each event exactly once."""

    pagination_class = KeysetPagination
    cursor_field = "invoked_at"

    class FilterSerializer(TimeRangeSerializer):
        project = serializers.SlugField(required=False, help_text="A project's slug.")
        session = serializers.IntegerField(required=False, min_value=1, help_text="A session id.")
        skill = TextField(required=False, max_length=200)

    @extend_schema(
        summary="Skill invocations, newest first",
        parameters=[FilterSerializer],
        responses={200: InvocationSerializer(many=True), **errors(400, 401, 404)},
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        events = filtered(
            SkillInvocation.objects.select_related("project", "session"),
            request.user,
            filters.validated_data,
            {"skill": "skill", "since": "invoked_at__gte", "until": "invoked_at__lt"},
        )
        return paginated_response(self, request, events, InvocationSerializer)
