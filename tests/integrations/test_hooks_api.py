"""`POST /api/v1/hooks/claude-code`: Claude Code's hook payloads become live session state."""

from __future__ import annotations

import json
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

from integrations.claude_code.hooks import EVENTS
from integrations.models import HookToolCall, ProjectRule
from tests.tracking.conftest import chunked_post
from tracking.models import Session, SkillInvocation

from .conftest import EXPECTED, TRANSCRIPTS, first_live_frame

URL = "/api/v1/hooks/claude-code"
SESSION = "9f0c1d2e-0000-4000-8000-000000000001"
pytestmark = pytest.mark.django_db


def hook(client, key, event: str, **fields):
    payload = {
        "session_id": SESSION,
        "transcript_path": f"/home/me/.claude/projects/-home-me-cairn/{SESSION}.jsonl",
        "cwd": "/home/me/cairn",
        "permission_mode": "default",
        "hook_event_name": event,
        **fields,
    }
    return client.post(
        URL,
        json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )


def tool(name: str, tool_id: str, **extra) -> dict:
    return {"tool_name": name, "tool_input": {"command": "pytest"}, "tool_use_id": tool_id, **extra}


def test_it_follows_a_session_through_its_hooks(client, write_key, project):
    response = hook(client, write_key, "SessionStart", source="startup", model="claude-opus-4-6")
    assert response.status_code == 204 and response.content == b""
    session = Session.objects.get(project=project, external_id=SESSION)
    assert (session.agent, session.status) == ("claude-code", "active")
    assert session.claude.cwd == "/home/me/cairn"
    assert hook(client, write_key, "UserPromptSubmit", prompt="run the tests").status_code == 204
    hook(client, write_key, "PreToolUse", **tool("Bash", "toolu_A"))
    assert HookToolCall.objects.filter(tool_use_id="toolu_A").exists()
    hook(client, write_key, "PostToolUse", **tool("Bash", "toolu_A", tool_response={"stdout": ""}))
    hook(client, write_key, "PreToolUse", **tool("Skill", "toolu_B", tool_input={"skill": "pdf"}))
    hook(client, write_key, "PostToolUseFailure", **tool("Skill", "toolu_B", error="boom"))
    hook(client, write_key, "PostToolUse", **tool("mcp__github__create_issue", "toolu_C"))
    hook(client, write_key, "Stop", stop_hook_active=False)
    hook(client, write_key, "PreCompact", trigger="manual", custom_instructions="")
    assert hook(client, write_key, "SessionEnd", reason="other").status_code == 204
    calls = {i.idempotency_key: i for i in SkillInvocation.objects.filter(session=session)}
    assert set(calls) == {"toolu_A", "toolu_B", "toolu_C"}
    assert (calls["toolu_A"].skill, calls["toolu_A"].completed) == ("Bash", True)
    assert calls["toolu_A"].duration_s is not None and calls["toolu_A"].duration_s >= 0
    assert (calls["toolu_B"].skill, calls["toolu_B"].completed) == ("pdf", False)
    assert calls["toolu_B"].error_type == "tool_error"
    # Without a PreToolUse the duration is not known, not 0.
    assert calls["toolu_C"].duration_s is None
    assert {c.source for c in calls.values()} == {"hook"}
    assert not HookToolCall.objects.exists()
    session.refresh_from_db()
    assert session.status == "ended" and session.ended_at is not None


def test_it_makes_subagents_child_sessions(client, write_key, project):
    hook(client, write_key, "PreToolUse", agent_id="a2898e3", **tool("Read", "toolu_S"))
    hook(client, write_key, "PostToolUse", agent_id="a2898e3", **tool("Read", "toolu_S"))
    hook(client, write_key, "SubagentStop", agent_id="a2898e3", agent_type="Explore")
    child = Session.objects.get(external_id=f"{SESSION}:agent-a2898e3")
    assert child.parent is not None
    assert child.parent.external_id == SESSION and child.status == "ended"
    assert child.parent.status == "active"
    assert SkillInvocation.objects.get().session == child


def test_it_refuses_bad_payloads_clearly(client, write_key):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {write_key}"}
    response = client.post(URL, "{nope", content_type="application/json", **auth)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("Malformed JSON")
    response = hook(client, write_key, "SessionStart", session_id="")
    assert response.json()["error"]["message"] == "'session_id' is required"
    response = hook(client, write_key, "Notification")
    assert "unsupported hook_event_name 'Notification'" in response.json()["error"]["message"]
    response = hook(client, write_key, "PostToolUse", tool_name="Bash")
    assert response.json()["error"]["message"] == "PostToolUse needs 'tool_use_id' and 'tool_name'"
    assert not Session.objects.exists()


def test_it_refuses_an_agent_id_too_long_to_store(client, write_key):
    # Found by schemathesis on Postgres: a 151-character agent_id passed the check and failed
    # the insert (varchar(100)) with a 500.
    response = hook(client, write_key, "PreCompact", session_id="s" * 150, agent_id="0" * 151)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "'agent_id' is longer than 43 characters"
    assert not Session.objects.exists()
    response = hook(client, write_key, "PreCompact", session_id="s" * 150, agent_id="0" * 43)
    assert response.status_code == 204
    child = Session.objects.get(parent__isnull=False)
    assert child.external_id == "s" * 150 + ":agent-" + "0" * 43


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("upload_limit", [None, 1000])
def test_it_refuses_a_chunked_body_over_the_byte_limit(write_key, upload_limit):
    payload = {"session_id": SESSION, "hook_event_name": "SessionStart", "cwd": "/home/me/cairn"}
    body = json.dumps({**payload, "padding": "x" * 2000}).encode()
    # Django's own limit may catch it first (upload_limit) or not: the answer is the same.
    limits = {"INGEST_MAX_BYTES": 1000}
    if upload_limit:
        limits["DATA_UPLOAD_MAX_MEMORY_SIZE"] = upload_limit
    with override_settings(**limits):
        response = chunked_post(URL, write_key, body)
        small = chunked_post(URL, write_key, json.dumps(payload).encode())
    assert response["status"] == 413
    assert json.loads(response["body"])["error"] == {
        "code": "payload_too_large",
        "message": "Body is larger than 1000 bytes.",
    }
    assert small["status"] == 204
    assert list(Session.objects.values_list("external_id", flat=True)) == [SESSION]


def test_it_needs_a_write_key(client, read_key):
    assert hook(client, read_key, "SessionStart").status_code == 403
    assert hook(client, "cairn_wrong", "SessionStart").status_code in (401, 403)
    assert not Session.objects.exists()


def test_it_adds_nothing_twice_when_the_transcript_is_imported_later(
    client, write_key, project, tmp_path
):
    expected = EXPECTED["files"]["transcripts/spotter/short.jsonl"]
    session_id = expected["session_ids"][0]
    lines = [json.loads(line) for line in (TRANSCRIPTS / "spotter" / "short.jsonl").open()]
    tool_ids = [
        block["id"]
        for line in lines
        if line["type"] == "assistant"
        for block in line["message"]["content"]
        if block.get("type") == "tool_use"
    ]
    for tool_id in tool_ids:
        hook(client, write_key, "PostToolUse", session_id=session_id, **tool("Bash", tool_id))
    assert SkillInvocation.objects.count() == 2
    out = StringIO()
    call_command(
        "import_transcripts", str(TRANSCRIPTS / "spotter" / "short.jsonl"), "--json", stdout=out
    )
    figures = json.loads(out.getvalue())["sessions"]
    assert [f["id"] for f in figures] == [session_id]
    assert SkillInvocation.objects.count() == sum(expected["tool_use_by_name"].values()) == 2
    assert Session.objects.get(external_id=session_id).project == project
    assert figures[0]["tokens"]["cache_read"] == 11515


def test_it_tells_live_pages_the_session_changed(
    client, write_key, project, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        hook(client, write_key, "SessionStart", source="startup")
    assert callbacks, "the push waits for the commit"

    frame = first_live_frame(project, callbacks)
    assert frame["type"] == "session_updated"
    assert frame["session"]["external_id"] == SESSION
    assert frame["session"]["status"] == "active"


def test_it_documents_a_hook_configuration_that_parses():
    # The hook settings moved from the README to docs/claude-code.md.
    readme = (Path(__file__).parents[2] / "docs" / "claude-code.md").read_text()
    section = readme[readme.index("## Hooks: sessions live") :]
    start = section.index("```json") + len("```json")
    block = section[start : section.index("```", start)]
    config = json.loads(block)["hooks"]
    assert set(config) == set(EVENTS)
    for groups in config.values():
        (handler,) = groups[0]["hooks"]
        assert handler["url"].endswith(URL) and handler["allowedEnvVars"] == ["CAIRN_KEY"]


def test_it_reads_the_transcript_after_a_turn_when_allowed(
    client, write_key, project, settings, monkeypatch, tmp_path
):
    expected = EXPECTED["files"]["transcripts/spotter/short.jsonl"]
    session_id = expected["session_ids"][0]
    config = tmp_path / "claude"
    transcript = config / "projects" / "-home-marco-projects-spotter" / f"{session_id}.jsonl"
    transcript.parent.mkdir(parents=True)
    shutil.copy(TRANSCRIPTS / "spotter" / "short.jsonl", transcript)
    outside = tmp_path / "elsewhere.jsonl"
    shutil.copy(TRANSCRIPTS / "spotter" / "tool_heavy.jsonl", outside)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(config))
    # The transcript's folder is the key's project's: only then may a hook read it.
    ProjectRule.objects.create(path_prefix="/home/marco/projects/spotter", project=project)

    hook(client, write_key, "Stop", session_id=session_id, transcript_path=str(transcript))
    session = Session.objects.get(external_id=session_id)
    assert session.cache_read_tokens == 0  # not allowed by default
    settings.CAIRN_HOOKS_READ_TRANSCRIPTS = True
    hook(client, write_key, "Stop", session_id=session_id, transcript_path=str(outside))
    session.refresh_from_db()
    assert session.cache_read_tokens == 0  # only Claude Code's own folders are read
    hook(client, write_key, "Stop", session_id=session_id, transcript_path=str(transcript))
    session.refresh_from_db()
    assert session.project == project
    assert session.cache_read_tokens == expected["tokens_max_wins"]["cache_read_input_tokens"]
    assert session.cache_creation_tokens == 13835
    assert Session.objects.filter(external_id=session_id).count() == 1
