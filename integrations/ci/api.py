"""`GET /api/v1/pipelines?project=SLUG[&days=N]`: a project's pipeline analytics."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.ci.analytics import pipeline_analytics
from tracking.api.filters import QueryFilterSerializer
from tracking.api.schema import errors
from tracking.api.scope import project_or_404


class PipelineFiguresSerializer(serializers.Serializer):
    runs = serializers.IntegerField(help_text="Finished, not skipped.")
    decided = serializers.IntegerField(help_text="success + failure + timed_out: the rate's n.")
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField()
    success_rate = serializers.FloatField(allow_null=True, help_text="0–1; null when n = 0.")
    success_rate_low = serializers.FloatField(allow_null=True, help_text="Wilson 95 %.")
    success_rate_high = serializers.FloatField(allow_null=True)
    duration_n = serializers.IntegerField()
    duration_p50_s = serializers.FloatField(allow_null=True)
    duration_p90_s = serializers.FloatField(allow_null=True)


class PipelineStageSerializer(PipelineFiguresSerializer):
    stage = serializers.CharField(help_text="GitLab's stage; for GitHub, the job name's stage.")
    phase = serializers.CharField()


class PipelineJobSerializer(PipelineFiguresSerializer):
    stage = serializers.CharField()
    job = serializers.CharField()


class PipelineBottleneckSerializer(serializers.Serializer):
    level = serializers.ChoiceField(["stage", "job"])
    stage = serializers.CharField()
    job = serializers.CharField(allow_null=True)
    success_rate = serializers.FloatField()
    decided = serializers.IntegerField()
    severity = serializers.ChoiceField(["high", "medium"])


class PipelineFlakySerializer(serializers.Serializer):
    job = serializers.CharField()
    stage = serializers.CharField()
    commit = serializers.CharField()
    failed_at = serializers.DateTimeField()
    passed_at = serializers.DateTimeField()


class PipelineTrendSerializer(serializers.Serializer):
    day = serializers.DateField()
    runs = serializers.IntegerField()
    duration_n = serializers.IntegerField()
    duration_p50_s = serializers.FloatField(allow_null=True)
    duration_p90_s = serializers.FloatField(allow_null=True)


class PipelineAnalyticsSerializer(serializers.Serializer):
    project = serializers.CharField()
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    jobs_n = serializers.IntegerField()
    runs = PipelineFiguresSerializer()
    stages = PipelineStageSerializer(many=True)
    jobs = PipelineJobSerializer(many=True)
    bottlenecks = PipelineBottleneckSerializer(many=True)
    flaky = PipelineFlakySerializer(many=True)
    trend = PipelineTrendSerializer(many=True)


class PipelineQuerySerializer(QueryFilterSerializer):
    project = serializers.SlugField()
    days = serializers.IntegerField(min_value=1, max_value=365, default=30)


class PipelinesApi(APIView):
    @extend_schema(
        summary="Pipeline analytics of a project",
        description="Jobs and runs that finished in the last `days` (default 30): per stage "
        "and job the runs, success rate (0–1, Wilson 95 % interval) and duration p50/p90; "
        "bottlenecks (success below 0.8, high below 0.5); flaky jobs (failed, then passed on "
        "the same commit); run durations per day.",
        parameters=[PipelineQuerySerializer],
        responses={200: PipelineAnalyticsSerializer, **errors(400, 401, 404)},
    )
    def get(self, request):
        query = PipelineQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        project = project_or_404(request.user, query.validated_data["project"])
        report = pipeline_analytics(project, days=query.validated_data["days"])
        return Response(PipelineAnalyticsSerializer(report).data)
