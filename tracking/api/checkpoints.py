"""Checkpoints: list (filters by project, session, kind) and detail with measurements."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from tracking.api.filters import QueryFilterSerializer
from tracking.api.pagination import KeysetPagination, paginated_response
from tracking.api.schema import errors
from tracking.api.scope import filtered, visible
from tracking.models import Checkpoint, Measurement, Project


class GateVerdictField(serializers.ChoiceField):
    """`passed`, `failed`, or null when no gate was evaluated (stored as "")."""

    def __init__(self, **kwargs) -> None:
        super().__init__(choices=Checkpoint.VERDICTS, allow_null=True, read_only=True, **kwargs)

    # Null out, a choice in: the stubs tie both to str.
    def to_representation(self, value: str) -> str | None:  # type: ignore[override]
        # "Not evaluated" is null, as in the checkpoint report's `gates.verdict` and the live
        # feed, never an empty string outside the enum.
        return value or None


class CheckpointSerializer(serializers.ModelSerializer):
    project: serializers.SlugRelatedField[Project] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    gate_verdict = GateVerdictField(help_text="null: no gate was evaluated.")

    class Meta:
        model = Checkpoint
        fields = [
            "id",
            "project",
            "session",
            "kind",
            "commit",
            "branch",
            "dirty",
            "score_total",
            "score_code_quality",
            "score_project_health",
            "score_dev_velocity",
            "score_security",
            "points_measured",
            "stars",
            "label",
            "gate_verdict",
            "gate_results",
            "debt_level",
            "debt_minutes",
            "recommendations",
            "created_at",
        ]
        read_only_fields = fields


class MeasurementSerializer(serializers.ModelSerializer):
    value = serializers.FloatField(
        allow_null=True, help_text="null = not measured; `reason` says why."
    )
    measured = serializers.BooleanField()

    class Meta:
        model = Measurement
        fields = [
            "key",
            "value",
            "measured",
            "unit",
            "reason",
            "tool",
            "tool_version",
            "artefact",
            "measured_at",
            "detail",
        ]
        read_only_fields = fields


class CheckpointDetailSerializer(CheckpointSerializer):
    measurements = MeasurementSerializer(many=True, read_only=True)

    class Meta(CheckpointSerializer.Meta):
        fields = [*CheckpointSerializer.Meta.fields, "measurements"]
        read_only_fields = fields


class CheckpointListApi(APIView):
    pagination_class = KeysetPagination
    cursor_field = "created_at"

    class FilterSerializer(QueryFilterSerializer):
        project = serializers.SlugField(required=False, help_text="A project's slug.")
        session = serializers.IntegerField(required=False, min_value=1, help_text="A session id.")
        kind = serializers.ChoiceField(choices=Checkpoint.KINDS, required=False)

    @extend_schema(
        summary="Checkpoints, newest first",
        parameters=[FilterSerializer],
        responses={200: CheckpointSerializer(many=True), **errors(400, 401, 404)},
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        checkpoints = filtered(
            Checkpoint.objects.select_related("project"),
            request.user,
            filters.validated_data,
            {"kind": "kind"},
        )
        return paginated_response(self, request, checkpoints, CheckpointSerializer)


class CheckpointDetailApi(APIView):
    @extend_schema(
        summary="One checkpoint with its measurements",
        responses={200: CheckpointDetailSerializer, **errors(401, 404)},
    )
    def get(self, request, pk: int):
        checkpoints = visible(Checkpoint.objects.select_related("project"), request.user)
        checkpoint = checkpoints.prefetch_related("measurements").filter(pk=pk).first()
        if checkpoint is None:
            raise NotFound(f"No checkpoint {pk}.")
        return Response(CheckpointDetailSerializer(checkpoint).data)
