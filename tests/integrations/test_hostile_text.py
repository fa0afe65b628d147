"""Hooks and transcripts with text Postgres cannot store or JSON nested too deep: a 400 naming
the field (hooks) or a bad line (transcripts), never a 500 or a crash, and nothing stored."""

from __future__ import annotations

import json

import pytest

from integrations.claude_code.transcript import read_chunk
from integrations.models import ClaudeSession, HookToolCall
from tracking.models import Session, SkillInvocation

URL = "/api/v1/hooks/claude-code"
SESSION = "9f0c1d2e-0000-4000-8000-000000000001"
NUL = "a\x00b"
SURROGATE = "a\ud800b"
pytestmark = pytest.mark.django_db


def post_hook(client, key, **fields):
    payload = {"session_id": SESSION, "cwd": "/home/me/cairn", **fields}
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    return client.post(URL, json.dumps(payload), content_type="application/json", **auth)


def tool_call(event: str, **fields) -> dict:
    call = {"hook_event_name": event, "tool_name": "Bash", "tool_use_id": "toolu_1"}
    return {**call, "tool_input": {"command": "pytest"}, **fields}


def assert_nothing_stored() -> None:
    assert not Session.objects.exists()
    assert not ClaudeSession.objects.exists()
    assert not HookToolCall.objects.exists()
    assert not SkillInvocation.objects.exists()


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["nul", "lone-surrogate"])
@pytest.mark.parametrize(
    ("field", "fields"),
    [
        ("session_id", {"hook_event_name": "SessionStart"}),
        ("cwd", {"hook_event_name": "SessionStart"}),
        ("agent_id", {"hook_event_name": "SubagentStop"}),
        ("tool_name", tool_call("PreToolUse")),
        ("tool_use_id", tool_call("PostToolUse")),
        ("hook_event_name", {}),
    ],
)
def test_unstorable_text_in_a_hook_field_is_a_400_naming_it(client, write_key, field, fields, bad):
    response = post_hook(client, write_key, **{**fields, field: bad})
    assert response.status_code == 400, response.content
    message = response.json()["error"]["message"]
    assert message.startswith(f"'{field}' contains a ")
    assert_nothing_stored()


@pytest.mark.parametrize("event", ["PreToolUse", "PostToolUse", "PostToolUseFailure"])
@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["nul", "lone-surrogate"])
def test_a_skill_name_in_tool_input_that_cannot_be_stored_is_a_400(client, write_key, event, bad):
    fields = tool_call(event, tool_name="Skill", tool_input={"skill": bad})
    response = post_hook(client, write_key, **fields)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["message"].startswith("'tool_input' contains a ")
    assert_nothing_stored()


def test_nul_elsewhere_in_tool_input_is_not_stored_and_does_no_harm(client, write_key):
    # Only the Skill tool's skill name is taken from tool_input; the rest is never stored.
    fields = tool_call("PostToolUse", tool_input={"command": NUL, "x": [SURROGATE]})
    assert post_hook(client, write_key, **fields).status_code == 204
    assert SkillInvocation.objects.get().skill == "Bash"


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_a_hook_body_nested_1000_deep_is_a_400_naming_the_body(client, write_key, depth):
    nested = "[" * depth + "]" * depth
    body = json.dumps(tool_call("PostToolUse", session_id=SESSION)).replace(
        '{"command": "pytest"}', nested
    )
    auth = {"HTTP_AUTHORIZATION": f"Bearer {write_key}"}
    response = client.post(URL, body, content_type="application/json", **auth)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == {
        "code": "parse_error",
        "message": "'body' is nested more than 64 levels deep",
    }
    assert_nothing_stored()


def test_a_hook_transcript_path_with_nul_is_ignored(client, write_key, settings):
    settings.CAIRN_HOOKS_READ_TRANSCRIPTS = True
    response = post_hook(
        client, write_key, hook_event_name="Stop", transcript_path="/tmp/x\x00.jsonl"
    )
    assert response.status_code == 204
    assert Session.objects.get().external_id == SESSION


def line(**fields) -> bytes:
    record = {"type": "user", "timestamp": "2026-01-01T00:00:00Z", "sessionId": "s", **fields}
    return json.dumps(record).encode()


def assistant(**fields) -> dict:
    message = {"id": "msg_1", "model": "claude-opus-4-6", "content": [], "usage": {}}
    record = {"type": "assistant", "timestamp": "2026-01-01T00:00:01Z", "sessionId": "s"}
    return {**record, "requestId": "req_1", "message": message, **fields}


@pytest.mark.parametrize(
    ("record", "name"),
    [
        ({"sessionId": "s\x00"}, "sessionId"),
        ({"agentId": "a\x00"}, "agentId"),
        ({"cwd": "/home/\x00"}, "cwd"),
        ({"gitBranch": "main\x00"}, "gitBranch"),
        (assistant(requestId="req\x00"), "requestId"),
        (assistant(message={"id": "msg\x00", "content": []}), "message.id"),
        (assistant(message={"id": "m", "model": "opus\x00", "content": []}), "model"),
        (
            assistant(message={"id": "m", "content": [{"type": "tool_use", "id": "t\x00"}]}),
            "tool_use.id",
        ),
        (
            assistant(
                message={
                    "id": "m",
                    "content": [{"type": "tool_use", "id": "t", "name": "Bash\x00"}],
                }
            ),
            "tool_use.name",
        ),
        (
            {"message": {"content": [{"type": "tool_result", "tool_use_id": "t\x00"}]}},
            "tool_result.tool_use_id",
        ),
    ],
)
def test_a_transcript_line_with_nul_in_an_id_is_a_bad_line(record, name):
    if record.get("type") == "assistant":
        raw = json.dumps(record).encode()
        # A tool_use block needs a name to be read; the NUL-in-id case gives it one.
        raw = raw.replace(b'"id": "t\\u0000"}', b'"id": "t\\u0000", "name": "Bash"}')
    else:
        raw = line(**record)
    chunk = read_chunk([raw, line()])
    assert chunk.bad_lines == 1, chunk.problems
    (number, problem) = chunk.problems[0]
    assert number == 1 and f"'{name}' contains a NUL character" in problem
    assert not chunk.requests and not chunk.tool_uses and not chunk.tool_results
    assert chunk.session_ids == {"s"} and chunk.cwds == set()
    assert chunk.timestamp_first == "2026-01-01T00:00:00Z"


def test_a_transcript_line_from_the_future_is_a_bad_line():
    chunk = read_chunk([line(timestamp="2099-01-01T00:00:00Z"), line()])
    assert chunk.bad_lines == 1
    assert "'timestamp' is in the future" in chunk.problems[0][1]
    assert chunk.timestamp_max == "2026-01-01T00:00:00Z"


def test_a_transcript_line_nested_deeper_than_orjson_takes_is_a_bad_line():
    deep = b'{"type": "user", "x": ' + b"[" * 2000 + b"]" * 2000 + b"}"
    chunk = read_chunk([deep, line()])
    assert chunk.bad_lines == 1 and "depth limit exceeded" in chunk.problems[0][1]
