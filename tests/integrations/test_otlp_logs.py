"""`POST /otlp/v1/logs`: Claude Code's events, each once; tool results and API requests agree
with the hooks and the transcript import of the same session, with nothing counted twice."""

from __future__ import annotations

import gzip
import json
import shutil
import statistics
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse

from integrations.models import ApiRequest, OtlpEvent
from tests.integrations.otlp_requests import NOW_NS, SESSION, as_json, logs, post
from tests.integrations.test_token_metrics import TYPES, counted
from tracking import instruments
from tracking.models import Session, SkillInvocation

from .conftest import EXPECTED, TRANSCRIPTS

pytestmark = pytest.mark.django_db
HELLO = "transcripts/claude-reliability/hello-world-script.jsonl"


def detail(client, key, external_id: str) -> dict:
    session = Session.objects.get(external_id=external_id)
    return client.get(f"/api/v1/sessions/{session.pk}", HTTP_AUTHORIZATION=f"Bearer {key}").json()


def test_events_are_stored_once_and_prompts_stay_private(client, write_key):
    export = logs(
        [
            ("user_prompt", {"prompt_length": "42", "prompt": "secret plans", "prompt.id": "p1",
                             "user.email": "dev@example.org"}),
            ("tool_result", {"tool_name": "Bash", "tool_use_id": "toolu_X", "success": "false",
                             "duration_ms": "1500", "error": "exit 1"}),
            ("tool_decision", {"tool_name": "Edit", "decision": "reject", "source": "user"}),
            ("api_error", {"status_code": "529", "attempt": 3, "model": "claude-opus-4-6"}),
        ]
    )  # fmt: skip
    for encoding, gzipped in [("protobuf", False), ("protobuf", True), ("json", True)]:
        answer = post(client, "logs", export, write_key, encoding=encoding, gzipped=gzipped)
        assert answer.status_code == 200
    assert OtlpEvent.objects.count() == 4
    prompt = OtlpEvent.objects.get(name="user_prompt")
    assert prompt.detail == {"prompt_length": 42.0}
    assert "dev@example.org" not in json.dumps([e.detail for e in OtlpEvent.objects.all()])
    session = Session.objects.get(external_id=SESSION)
    assert (session.user_name, session.agent) == ("dev@example.org", "claude-code")
    call = SkillInvocation.objects.get(session=session)
    assert (call.idempotency_key, call.skill, call.completed) == ("toolu_X", "Bash", False)
    assert (call.duration_s, call.error_type, call.source) == (1.5, "exit 1", "otlp")
    with override_settings(OTLP_STORE_PROMPTS=True):
        post(
            client,
            "logs",
            logs([("user_prompt", {"prompt": "kept", "prompt.id": "p2"})]),
            write_key,
        )
    assert OtlpEvent.objects.get(detail__prompt="kept").name == "user_prompt"


def hello_world() -> tuple[list[str], dict[str, dict]]:
    """The fixture session's tool_use ids and, per request id, its model and largest usage."""
    tools: list[str] = []
    requests: dict[str, dict] = {}
    for line in (TRANSCRIPTS.parent / HELLO).read_text().splitlines():
        record = json.loads(line)
        message = record.get("message")
        if record.get("type") != "assistant" or not isinstance(message, dict):
            continue
        tools += [b["id"] for b in message["content"] if b.get("type") == "tool_use"]
        usage, seen = message["usage"], requests.setdefault(record["requestId"], {})
        seen["model"] = message["model"]
        for name in ("input_tokens", "output_tokens", "cache_read_input_tokens",
                     "cache_creation_input_tokens"):  # fmt: skip
            seen[name] = max(seen.get(name, 0), usage.get(name, 0))
    return tools, requests


def test_otlp_hooks_and_the_transcript_of_one_session_count_each_call_and_request_once(
    client, write_key, project, tmp_path
):
    expected = EXPECTED["files"][HELLO]
    external_id = expected["session_ids"][0]
    tools, requests = hello_world()
    events = [
        ("tool_result", {"tool_name": "Bash", "tool_use_id": tool, "success": "true"})
        for tool in tools
    ] + [
        ("api_request", {
            "request_id": request_id, "model": usage["model"], "cost_usd": 0.01,
            "input_tokens": usage["input_tokens"], "output_tokens": usage["output_tokens"],
            "cache_read_tokens": usage["cache_read_input_tokens"],
            "cache_creation_tokens": usage["cache_creation_input_tokens"],
        })
        for request_id, usage in requests.items()
    ]  # fmt: skip
    tokens_before = counted()
    assert post(client, "logs", logs(events, session=external_id), write_key).status_code == 200
    hook = {
        "session_id": external_id, "hook_event_name": "PostToolUse", "tool_name": "Bash",
        "tool_use_id": tools[0], "tool_input": {"command": "ls"}, "tool_response": {},
    }  # fmt: skip
    client.post(
        "/api/v1/hooks/claude-code", json.dumps(hook), content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {write_key}",
    )  # fmt: skip
    folder = tmp_path / "projects"
    shutil.copytree(TRANSCRIPTS / "claude-reliability", folder / "claude-reliability")
    transcript = folder / "claude-reliability" / "hello-world-script.jsonl"
    quiet = {"stdout": StringIO(), "stderr": StringIO()}
    call_command("import_transcripts", str(transcript), "--project", "alpha", **quiet)
    # OTLP sends the same events again after the import, now with each request's duration
    # (as a later Claude Code would): the calls and requests stay one each, and the durations
    # fill in the rows the import took over (their cost, sent the first time, kept).
    timed = [
        (name, {**attrs, "duration_ms": 1000 + 500 * k} if name == "api_request" else attrs)
        for k, (name, attrs) in enumerate(events)
    ]
    post(client, "logs", logs(timed, session=external_id), write_key)

    session = Session.objects.get(project=project, external_id=external_id)
    assert (
        SkillInvocation.objects.filter(session=session).count() == expected["tool_use_unique_ids"]
    )
    assert ApiRequest.objects.filter(session=session).count() == expected["unique_keys"]
    assert not ApiRequest.objects.filter(message_id="").exists()  # the import adopted them
    tokens = expected["tokens_max_wins"]
    shown = detail(client, write_key, external_id)
    assert (shown["input_tokens"], shown["output_tokens"]) == (
        tokens["input_tokens"],
        tokens["output_tokens"],
    )
    assert shown["cache_read_tokens"] == tokens["cache_read_input_tokens"]
    assert shown["cache_creation_tokens"] == tokens["cache_creation_input_tokens"]
    assert shown["token_source"] == "requests"
    assert shown["tool_calls"] == 2
    assert shown["sources"] == ["otlp", "transcript"]  # the hook's call was the OTLP one
    durations = sorted(
        1000 + 500 * k for k, (name, _) in enumerate(events) if name != "tool_result"
    )
    stored = ApiRequest.objects.filter(session=session)
    assert sorted(d or 0 for d in stored.values_list("duration_ms", flat=True)) == durations
    assert set(stored.values_list("cost_usd", flat=True)) == {Decimal("0.010000")}
    # cairn_tokens_total counted each request's tokens once over OTLP, the import and the
    # retried export: what the rows hold, by family and type.
    added = {key: value - tokens_before[key] for key, value in counted().items()}
    held: dict[tuple[str, str], float] = {}
    for row in stored:
        for kind, field in TYPES.items():
            key = (instruments.model_family(row.model), kind)
            held[key] = held.get(key, 0) + getattr(row, field)
    assert {k: v for k, v in added.items() if v} == {k: v for k, v in held.items() if v}
    n = len(requests)
    assert shown["api_requests"] == {
        "count": n,
        "with_cost": n,
        "reported_cost_usd": str(Decimal("0.01") * n) + "0000",
        "with_duration": n,
        "median_duration_ms": statistics.median(durations),
    }


def test_bad_bodies_media_types_sizes_and_keys_are_refused(client, write_key, read_key, settings):
    settings.OTLP_MAX_BYTES = 4096
    auth = {"HTTP_AUTHORIZATION": f"Bearer {write_key}"}
    bad = client.post(
        "/otlp/v1/logs", b"\xff\x00garbage", content_type="application/x-protobuf", **auth
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["message"].startswith("Body is not a valid protobuf message")
    text = client.post("/otlp/v1/logs", b"{}", content_type="text/plain", **auth)
    assert text.status_code == 415
    bomb = gzip.compress(b"\x00" * 100_000)  # small on the wire, too large inflated
    over = client.post(
        "/otlp/v1/logs", bomb, content_type="application/x-protobuf",
        HTTP_CONTENT_ENCODING="gzip", **auth,
    )  # fmt: skip
    assert over.status_code == 413
    assert over.json()["error"]["message"] == "Body is larger than 4096 bytes once decompressed."
    plain = client.post(
        "/otlp/v1/metrics", b"\x00" * 5000, content_type="application/x-protobuf", **auth
    )
    assert plain.status_code == 413
    wrong = post(client, "logs", logs([("user_prompt", {})]), "cairn_wrong")
    assert wrong.status_code == 401
    read_only = post(client, "logs", logs([("user_prompt", {})]), read_key)
    assert read_only.status_code == 403
    assert not OtlpEvent.objects.exists()


def test_json_takes_hex_ids_and_ignores_unknown_fields(client, write_key):
    body = json.loads(as_json(logs([("api_error", {"status_code": "500"})])))
    record = body["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]
    record.update(traceId="5b8efff798038103d269b633813fc60c", spanId="eee19b7ec3c1b174")
    record["fieldFromAFutureVersion"] = {"x": 1}
    auth = {"HTTP_AUTHORIZATION": f"Bearer {write_key}"}
    answer = client.post("/otlp/v1/logs", json.dumps(body), content_type="application/json", **auth)
    assert (answer.status_code, answer.json()) == (200, {})
    assert OtlpEvent.objects.get().detail == {"status_code": 500.0}
    record["traceId"] = "not-hex"
    answer = client.post("/otlp/v1/logs", json.dumps(body), content_type="application/json", **auth)
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == "traceId: not a hex id."


def test_records_without_a_time_or_a_name_are_counted_in_partial_success(client, write_key):
    export = logs([("user_prompt", {"prompt.id": "p1"}), ("tool_decision", {})])
    unnamed = export.resource_logs[0].scope_logs[0].log_records.add()
    unnamed.time_unix_nano = NOW_NS
    timeless = export.resource_logs[0].scope_logs[0].log_records.add()
    timeless.body.string_value = "claude_code.user_prompt"
    answer = post(client, "logs", export, write_key)
    assert answer["Content-Type"] == "application/x-protobuf"
    parsed = ExportLogsServiceResponse.FromString(answer.content)
    assert parsed.partial_success.rejected_log_records == 2
    assert parsed.partial_success.error_message == (
        "a record with no event name; timeUnixNano: missing"
    )
    assert sorted(OtlpEvent.objects.values_list("name", flat=True)) == [
        "tool_decision",
        "user_prompt",
    ]
    # The same export as JSON: the answer is JSON, the rejected count a string (int64).
    again = post(client, "logs", export, write_key, encoding="json")
    assert again.json() == {
        "partialSuccess": {
            "rejectedLogRecords": "2",
            "errorMessage": "a record with no event name; timeUnixNano: missing",
        }
    }
    assert OtlpEvent.objects.count() == 2  # the retry stored nothing twice
