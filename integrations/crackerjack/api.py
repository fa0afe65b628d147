"""`POST /api/v1/crackerjack/runs`: a crackerjack run, idempotent on its run_id."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.crackerjack.runs import CrackerjackRunSerializer, record_run
from tracking.api.ingest import RawJSONParser, parse_json_body
from tracking.api.limits import read_body
from tracking.api.permissions import HasWriteKey
from tracking.api.schema import errors

EXAMPLE = {
    "run_id": "20261125-101500-a1b2",
    "started_at": "2026-11-25T10:15:00Z",
    "phases": [
        {
            "phase": "fast_hooks",
            "status": "passed",
            "duration_seconds": 4.8,
            "hooks": [
                {"name": "ruff-format", "stage": "fast", "status": "passed", "duration": 0.9,
                 "issues_count": 0},
                {"name": "ruff-check", "stage": "fast", "status": "failed", "duration": 1.4,
                 "issues_count": 3},
            ],
        },
        {"phase": "tests", "status": "passed", "duration_seconds": 41.2, "hooks": []},
    ],
    "quality_gate": {"passed": True, "coverage": 87.5, "checks": [
        {"name": "coverage", "passed": True, "severity": "required", "score": 87.5,
         "threshold": 80.0, "message": "", "duration_ms": 12.0},
    ]},
}  # fmt: skip


class CrackerjackRunApi(APIView):
    parser_classes = [RawJSONParser]
    permission_classes = [HasWriteKey]

    @extend_schema(
        summary="Record a crackerjack run",
        description="Each hook becomes a skill invocation (source crackerjack; phase "
        "fast_hooks→setup, tests→execution, comprehensive_hooks→verification, ai_fix→execution; "
        "its duration; `issues:<n>` as error type), and the run a checkpoint (kind auto) whose "
        "measurements come from the quality-gate report. A run_id already stored is answered "
        "200 with the stored run and nothing is added; a new one 201.",
        request=CrackerjackRunSerializer,
        responses={
            201: inline_serializer(
                "CrackerjackRunRecorded",
                {
                    "run_id": serializers.CharField(),
                    "created": serializers.BooleanField(),
                    "invocations": serializers.IntegerField(),
                    "checkpoint": serializers.IntegerField(allow_null=True),
                },
            ),
            200: inline_serializer(
                "CrackerjackRunKnown",
                {
                    "run_id": serializers.CharField(),
                    "created": serializers.BooleanField(),
                    "invocations": serializers.IntegerField(),
                    "checkpoint": serializers.IntegerField(allow_null=True),
                },
            ),
            **errors(400, 401, 403, 413),
        },
        examples=[OpenApiExample("A run", value=EXAMPLE, request_only=True)],
    )
    def post(self, request):
        payload = parse_json_body(read_body(request, settings.INGEST_MAX_BYTES))
        form = CrackerjackRunSerializer(data=payload)
        form.is_valid(raise_exception=True)
        recorded = record_run(request.user.project, form.validated_data, source="api")
        body = {
            "run_id": recorded.run.run_id,
            "created": recorded.created,
            "invocations": recorded.invocations,
            "checkpoint": recorded.run.checkpoint_id,
        }
        return Response(body, status=status.HTTP_201_CREATED if recorded.created else 200)
