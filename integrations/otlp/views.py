"""`POST /otlp/v1/metrics` and `/otlp/v1/logs`: Claude Code's OpenTelemetry export (OTLP/HTTP).

Claude Code is set up with `OTEL_EXPORTER_OTLP_ENDPOINT=<cairn>/otlp` and
`OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer <write key>` (docs/otlp.md). The answer is
200 with an empty Export…ServiceResponse in the request's media type, or with
`partialSuccess` counting the rejected points or records; 400 for a body that cannot be
decoded, 413 over OTLP_MAX_BYTES (compressed or not), 415 for another media type.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from rest_framework import exceptions
from rest_framework.views import APIView

from integrations.otlp import decoding
from integrations.otlp.logs import store_logs
from integrations.otlp.metrics import store_metrics
from tracking.api.limits import PayloadTooLarge, read_body
from tracking.api.permissions import HasWriteKey


class OtlpExportApi(APIView):
    """One OTLP signal: decode, store, answer."""

    permission_classes = [HasWriteKey]
    parser_classes: list = []  # the body is read raw: protobuf or JSON, maybe gzip
    request_class: type = metrics_service_pb2.ExportMetricsServiceRequest
    response_class: type = metrics_service_pb2.ExportMetricsServiceResponse
    rejected_field = "rejected_data_points"

    def store(self, project, message):
        return store_metrics(project, message)

    @extend_schema(exclude=True)
    def post(self, request):
        try:
            kind = decoding.media_type(request.content_type or "")
            limit = settings.OTLP_MAX_BYTES
            raw = read_body(request, limit)
            body = decoding.decompressed(raw, request.META.get("HTTP_CONTENT_ENCODING", ""), limit)
            message = decoding.parse(body, kind, self.request_class())
        except decoding.UnsupportedMedia as exc:
            raise exceptions.UnsupportedMediaType(request.content_type, detail=str(exc)) from None
        except decoding.TooLarge as exc:
            raise PayloadTooLarge(str(exc)) from None
        except decoding.BadBody as exc:
            raise exceptions.ParseError(str(exc)) from None
        outcome = self.store(request.user.project, message)
        answer = self.response_class()
        if outcome.rejected:
            setattr(answer.partial_success, self.rejected_field, outcome.rejected)
            answer.partial_success.error_message = outcome.message
        return HttpResponse(decoding.encoded(answer, kind), content_type=kind)


class OtlpLogsApi(OtlpExportApi):
    request_class = logs_service_pb2.ExportLogsServiceRequest
    response_class = logs_service_pb2.ExportLogsServiceResponse
    rejected_field = "rejected_log_records"

    def store(self, project, message):
        return store_logs(project, message)
