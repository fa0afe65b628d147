"""OTLP export requests as Claude Code sends them, built with opentelemetry-proto."""

from __future__ import annotations

import gzip
import json
import time

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

SESSION = "0b6c1f3e-1111-4000-8000-00000000otlp"
NOW_NS = time.time_ns()
START_NS = NOW_NS - 60 * 10**9
RESOURCE = {"service.name": "claude-code", "service.version": "2.1.220", "os.type": "linux"}


def kv(attributes: dict) -> list[KeyValue]:
    out = []
    for key, value in attributes.items():
        if isinstance(value, bool):
            any_value = AnyValue(bool_value=value)
        elif isinstance(value, int):
            any_value = AnyValue(int_value=value)
        elif isinstance(value, float):
            any_value = AnyValue(double_value=value)
        else:
            any_value = AnyValue(string_value=value)
        out.append(KeyValue(key=key, value=any_value))
    return out


def metrics(
    points: list[tuple[str, dict, float, int, int]], temporality: int = 1
) -> ExportMetricsServiceRequest:
    """One export: (metric, point attributes, value, start ns, time ns) sums, session-tagged."""
    request = ExportMetricsServiceRequest()
    resource = request.resource_metrics.add()
    resource.resource.attributes.extend(kv(RESOURCE))
    scope = resource.scope_metrics.add()
    scope.scope.name = "com.anthropic.claude_code"
    for name, attributes, value, start, end in points:
        metric = scope.metrics.add()
        metric.name = f"claude_code.{name}"
        metric.sum.aggregation_temporality = temporality
        metric.sum.is_monotonic = True
        point = metric.sum.data_points.add()
        point.attributes.extend(kv({"session.id": SESSION, **attributes}))
        point.start_time_unix_nano, point.time_unix_nano = start, end
        if isinstance(value, int):
            point.as_int = value
        else:
            point.as_double = value
    return request


def logs(records: list[tuple[str, dict]], session: str = SESSION) -> ExportLogsServiceRequest:
    """One export of events: (name, attributes), each a second apart, with its name in the
    body as Claude Code sends it."""
    request = ExportLogsServiceRequest()
    resource = request.resource_logs.add()
    resource.resource.attributes.extend(kv(RESOURCE))
    scope = resource.scope_logs.add()
    scope.scope.name = "com.anthropic.claude_code.events"
    for i, (name, attributes) in enumerate(records):
        record = scope.log_records.add()
        record.time_unix_nano = START_NS + i * 10**9
        record.body.string_value = f"claude_code.{name}"
        record.attributes.extend(
            kv({"session.id": session, "event.name": name, "event.sequence": i, **attributes})
        )
    return request


def as_json(message) -> bytes:
    return json.dumps(json_format.MessageToDict(message)).encode()


def post(client, path: str, message, key: str, *, encoding: str = "protobuf", gzipped=False):
    body = message.SerializeToString() if encoding == "protobuf" else as_json(message)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    if gzipped:
        body = gzip.compress(body)
        headers["HTTP_CONTENT_ENCODING"] = "gzip"
    kind = "application/x-protobuf" if encoding == "protobuf" else "application/json"
    return client.post(f"/otlp/v1/{path}", body, content_type=kind, **headers)
