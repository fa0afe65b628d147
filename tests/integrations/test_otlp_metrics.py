"""`POST /otlp/v1/metrics`: Claude Code's metrics, delta and cumulative, each point once."""

from __future__ import annotations

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceResponse,
)

from tests.integrations.otlp_requests import NOW_NS, SESSION, START_NS, metrics, post
from tracking.models import Session

from .conftest import first_live_frame

pytestmark = pytest.mark.django_db
S = 10**9


def session_detail(client, key) -> dict:
    session = Session.objects.get(external_id=SESSION)
    response = client.get(f"/api/v1/sessions/{session.pk}", HTTP_AUTHORIZATION=f"Bearer {key}")
    return response.json()


def test_delta_points_count_once_however_often_an_export_is_retried(client, write_key):
    model = "claude-opus-4-6"
    window = (START_NS, NOW_NS)
    export = metrics(
        [
            ("lines_of_code.count", {"type": "added", "model": model}, 120, *window),
            ("lines_of_code.count", {"type": "removed", "model": model}, 30, *window),
            ("active_time.total", {"type": "user"}, 12.5, *window),
            ("active_time.total", {"type": "cli"}, 40.25, *window),
            ("code_edit_tool.decision", {"decision": "accept", "tool_name": "Edit"}, 3, *window),
            ("code_edit_tool.decision", {"decision": "reject", "tool_name": "Write"}, 1, *window),
            ("commit.count", {}, 2, *window),
        ]
    )
    later = metrics(
        [("lines_of_code.count", {"type": "added", "model": model}, 5, NOW_NS, NOW_NS + S)]
    )
    answers = [post(client, "metrics", export, write_key) for _ in range(3)]
    answers.append(post(client, "metrics", later, write_key, encoding="json", gzipped=True))
    assert [a.status_code for a in answers] == [200] * 4
    assert answers[0]["Content-Type"] == "application/x-protobuf" and answers[0].content == b""
    assert answers[3]["Content-Type"] == "application/json" and answers[3].json() == {}
    detail = session_detail(client, write_key)
    assert detail["otlp"] == {
        "active_time_s": {"user": 12.5, "cli": 40.25},
        "lines_added": 125,
        "lines_removed": 30,
        "edit_decisions": {"accept": 3, "reject": 1},
        "commits": 2,
        "pull_requests": None,  # none sent: not measured, not 0
    }
    assert detail["sources"] == ["otlp"]


def test_cumulative_points_add_their_increase_and_a_new_start_is_a_reset(client, write_key):
    def tokens(value: int, start: int, end: int):
        point = ("token.usage", {"type": "input", "model": "claude-opus-4-6"}, value, start, end)
        return metrics([point], temporality=2)

    restart = NOW_NS + 100 * S
    sent = [
        tokens(100, START_NS, NOW_NS),
        tokens(250, START_NS, NOW_NS + S),
        tokens(100, START_NS, NOW_NS),  # a late retry of the first export
        tokens(250, START_NS, NOW_NS + S),  # a retry of the second
        tokens(40, restart, restart + S),  # the CLI restarted: its own running total
    ]
    assert all(post(client, "metrics", m, write_key).status_code == 200 for m in sent)
    detail = session_detail(client, write_key)
    # No per-request figures for this session: its tokens are the token.usage aggregate.
    assert (detail["token_source"], detail["input_tokens"]) == ("otlp_metrics", 290)


def test_points_that_cannot_count_are_rejected_in_partial_success(client, write_key):
    export = metrics(
        [
            ("commit.count", {}, 1, START_NS, NOW_NS),
            ("cost.usage", {"model": "claude-opus-4-6"}, float("nan"), START_NS, NOW_NS),
        ]
    )
    unknown = export.resource_metrics[0].scope_metrics[0].metrics.add()
    unknown.name = "http.server.duration"
    unknown.gauge.data_points.add().as_double = 1.0
    unspecified = metrics([("commit.count", {}, 1, START_NS, NOW_NS)], temporality=0)
    answer = post(client, "metrics", export, write_key)
    assert answer.status_code == 200
    decoded = ExportMetricsServiceResponse.FromString(answer.content)
    assert decoded.partial_success.rejected_data_points == 2
    assert "http.server.duration: not a Claude Code metric" in decoded.partial_success.error_message
    assert "not a finite non-negative number" in decoded.partial_success.error_message
    answer = post(client, "metrics", unspecified, write_key, encoding="json")
    assert answer.json() == {
        "partialSuccess": {
            "rejectedDataPoints": "1",
            "errorMessage": "claude_code.commit.count: temporality 0",
        }
    }
    assert session_detail(client, write_key)["otlp"]["commits"] == 1


def test_live_session_updated_frames_carry_the_otlp_figures(
    client, write_key, project, django_capture_on_commit_callbacks
):
    first = metrics([("lines_of_code.count", {"type": "added"}, 9, START_NS, NOW_NS)])
    assert post(client, "metrics", first, write_key).status_code == 200  # starts the session
    later = metrics([("lines_of_code.count", {"type": "added"}, 4, NOW_NS, NOW_NS + S)])
    with django_capture_on_commit_callbacks() as callbacks:
        assert post(client, "metrics", later, write_key).status_code == 200
    frame = first_live_frame(project, callbacks)
    assert frame["type"] == "session_updated"
    assert frame["session"]["external_id"] == SESSION
    assert frame["session"]["otlp"]["lines_added"] == 13
    assert frame["session"]["otlp"]["lines_removed"] is None
