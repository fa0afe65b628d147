"""The Claude Code panel says "not measured" where no transcript gave tokens, never 0."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command

from integrations.models import ClaudeSession
from tracking.ingest import InvocationEvent, record_invocations
from tracking.models import Checkpoint, Session

pytestmark = pytest.mark.django_db
ZERO_ROW = '<th scope="row">Input</th><td class="num">0</td>'


def test_it_says_not_measured_for_tool_calls_without_a_transcript(owner_client, project):
    session = Session.objects.create(project=project, external_id="api-only")
    at = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    events = [InvocationEvent(key="k1", session="api-only", skill="Bash", invoked_at=at)]
    record_invocations(project, events, source="api", sessions={"api-only": session})

    page = owner_client.get(session.get_absolute_url()).content.decode()
    # The panel only: the page's own "Tokens and cost" card belongs to tracking.
    page = page.split('id="claude-code"', 1)[1]

    assert "Claude Code: cost by model" in page  # the tool calls are real: the panel shows
    assert '<td><code>Bash</code></td><td class="num">1</td>' in page
    assert "no transcript imported for this session" in page
    assert 'class="missing">not measured</span>' in page
    assert ZERO_ROW not in page and "API requests, each counted once" not in page


def test_it_shows_real_zeros_from_a_transcript(owner_client, project, tmp_path):
    line = {
        "type": "assistant",
        "sessionId": "zero-usage",
        "timestamp": "2026-11-25T09:00:00.000Z",
        "requestId": "req_0",
        "message": {
            "id": "msg_0",
            "model": "claude-opus-4-6",
            "content": [],
            "usage": {"input_tokens": 0, "output_tokens": 0},
        },
    }
    (tmp_path / "zero.jsonl").write_text(json.dumps(line) + "\n")
    call_command("import_transcripts", str(tmp_path), "--project", project.slug, stdout=StringIO())
    session = Session.objects.get(external_id="zero-usage")

    page = owner_client.get(session.get_absolute_url()).content.decode()
    # The page's one tokens card holds the transcript's real zeros, its source stated.
    tokens = page.split('id="tokens"', 1)[1].split("</section>", 1)[0]
    page = page.split('id="claude-code"', 1)[1]

    assert "Source: <strong>transcript</strong> — 1 API requests imported" in tokens
    assert "1 API requests imported from the Claude Code transcript, each counted once" in tokens
    assert ZERO_ROW in tokens
    assert "no transcript imported" not in page


def test_it_says_not_measured_for_a_session_known_only_from_hooks(owner_client, project):
    session = Session.objects.create(project=project, external_id="hooked")
    ClaudeSession.objects.create(session=session, claude_id="hooked", version="2.1.39")
    at = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    events = [InvocationEvent(key="k2", session="hooked", skill="Read", invoked_at=at)]
    record_invocations(project, events, source="hook", sessions={"hooked": session})

    page = owner_client.get(session.get_absolute_url()).content.decode()
    page = page.split('id="claude-code"', 1)[1]

    assert "no API requests imported for this session yet" in page
    assert "Claude Code 2.1.39" in page
    assert ZERO_ROW not in page


def test_it_says_cost_not_known_per_checkpoint_without_a_transcript(owner_client, project):
    session = Session.objects.create(project=project, external_id="no-transcript")
    at = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    events = [InvocationEvent(key="k3", session="no-transcript", skill="Bash", invoked_at=at)]
    record_invocations(project, events, source="api", sessions={"no-transcript": session})
    Checkpoint.objects.create(project=project, session=session, kind="start", score_total=40.0)

    page = owner_client.get(session.get_absolute_url()).content.decode()
    costs = page.split('id="checkpoint-costs"', 1)[1].split("</section>", 1)[0]

    assert "start #" in costs
    assert "$0.00" not in costs
    assert 'class="missing">not known</span>' in costs


def test_it_signs_the_score_change_per_checkpoint(owner_client, project):
    session = Session.objects.create(project=project, external_id="signed")
    at = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    events = [InvocationEvent(key="k4", session="signed", skill="Bash", invoked_at=at)]
    record_invocations(project, events, source="api", sessions={"signed": session})
    for kind, score in (("start", 40.0), ("manual", 47.0), ("end", 26.2)):
        Checkpoint.objects.create(project=project, session=session, kind=kind, score_total=score)

    page = owner_client.get(session.get_absolute_url()).content.decode()
    costs = page.split('id="checkpoint-costs"', 1)[1].split("</section>", 1)[0]

    cells = [c.split("</td>")[0] for c in costs.split('<td class="num">')[1:]]
    assert [cells[i] for i in (1, 5, 9)] == ["—", "+7.0", "-20.8"]
