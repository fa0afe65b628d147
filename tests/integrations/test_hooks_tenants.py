"""The hooks endpoint keeps projects apart: one project's key cannot take another project's
sessions by naming their transcript, nor their pending tool calls by naming their ids."""

from __future__ import annotations

import itertools
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from integrations.claude_code.hooks import EVENTS, handle_hook
from integrations.models import ApiRequest, HookToolCall, ProjectRule, TranscriptFile
from tests.properties import PROPERTY
from tracking.models import Project, Session, SkillInvocation

from .conftest import EXPECTED, MAIN

URL = "/api/v1/hooks/claude-code"
MAIN_ID = EXPECTED["files"][MAIN]["session_ids"][0]
# The folder the main transcript's lines were written in, and the project it maps to by its
# name (no ProjectRule, no git repository here).
MAIN_CWD = EXPECTED["files"][MAIN]["cwds"][0]
MAIN_TOKENS = EXPECTED["files"][MAIN]["tokens_max_wins"]
MAIN_LINES = EXPECTED["files"][MAIN]["lines"]
REFUSED = "cairn_hook_transcripts_refused_total"
pytestmark = pytest.mark.django_db


@pytest.fixture
def alice() -> Project:
    """A: the project the transcripts' folder maps to."""
    return Project.objects.create(name="Spotter", slug="spotter-dov")


@pytest.fixture
def bob() -> Project:
    """B: another project, whose key tries to take A's data."""
    return Project.objects.create(name="Bob", slug="bob")


@pytest.fixture
def reading(settings, monkeypatch, transcripts_copy) -> Path:
    """Hooks may read transcripts, and Claude Code's folder is the copy of the data set's."""
    settings.CAIRN_HOOKS_READ_TRANSCRIPTS = True
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(transcripts_copy.parent))
    return transcripts_copy / "spotter" / f"{MAIN_ID}.jsonl"


def hook(client, project: Project, event: str, **fields):
    key = project.create_api_key(scope="write")[1]
    payload = {"hook_event_name": event, "cwd": "/home/bob/bob", **fields}
    return client.post(
        URL,
        json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )


def refused() -> float:
    return REGISTRY.get_sample_value(REFUSED) or 0.0


def import_all(folder: Path) -> dict:
    out = StringIO()
    call_command("import_transcripts", str(folder), "--json", stdout=out)
    return json.loads(out.getvalue())


def tokens_of(session: Session) -> dict:
    return {
        "input_tokens": session.input_tokens,
        "output_tokens": session.output_tokens,
        "cache_creation_input_tokens": session.cache_creation_tokens,
        "cache_read_input_tokens": session.cache_read_tokens,
    }


def expected_tokens() -> dict:
    return {name: MAIN_TOKENS[name] for name in tokens_of(Session())}


@pytest.mark.parametrize("session_id", [MAIN_ID, "b0b00000-0000-4000-8000-000000000001"])
def test_another_projects_key_cannot_take_a_session_by_its_transcript_path(
    client, alice, bob, reading, transcripts_copy, session_id
):
    before = refused()
    response = hook(client, bob, "Stop", session_id=session_id, transcript_path=str(reading))

    assert response.status_code == 204  # Claude Code is never blocked
    assert refused() == before + 1
    # Nothing of A's session in B: B's own hook session only, without A's tokens or requests.
    (session,) = Session.objects.filter(project=bob)
    assert session.external_id == session_id
    assert tokens_of(session) == dict.fromkeys(tokens_of(session), 0)
    assert not ApiRequest.objects.exists()
    assert not Session.objects.filter(project=alice).exists()
    # The file's read position did not move: the import still reads it whole.
    assert not TranscriptFile.objects.exists()

    result = import_all(transcripts_copy)

    mine = Session.objects.get(project=alice, external_id=MAIN_ID)
    assert tokens_of(mine) == expected_tokens()
    assert mine.api_requests.count() == EXPECTED["files"][MAIN]["unique_keys"]
    assert result["lines"] == sum(f["lines"] for f in EXPECTED["files"].values())
    assert TranscriptFile.objects.get(path=str(reading)).lines_read == MAIN_LINES
    session.refresh_from_db()
    assert tokens_of(session) == dict.fromkeys(tokens_of(session), 0)
    assert not ApiRequest.objects.filter(session__project=bob).exists()


def test_a_session_already_another_projects_is_not_read_even_from_a_mapped_folder(
    client, alice, bob, reading, transcripts_copy
):
    import_all(transcripts_copy)
    mine = Session.objects.get(project=alice, external_id=MAIN_ID)
    # B maps A's folder to itself afterwards, and A's session goes on (a new line).
    ProjectRule.objects.create(path_prefix=MAIN_CWD, project=bob)
    lines = reading.read_bytes().splitlines(keepends=True)
    with reading.open("ab") as handle:
        handle.write(lines[-1])
    position = TranscriptFile.objects.get(path=str(reading)).offset

    outcome = handle_hook(
        bob,
        {
            "hook_event_name": "SessionEnd",
            "session_id": MAIN_ID,
            "cwd": MAIN_CWD,
            "transcript_path": str(reading),
        },
    )

    assert outcome.transcript_refused.endswith("the file was read for another project")
    assert TranscriptFile.objects.get(path=str(reading)).offset == position
    assert not ApiRequest.objects.filter(session__project=bob).exists()
    mine.refresh_from_db()
    assert tokens_of(mine) == expected_tokens()
    # The line is A's, and A's import reads it.
    assert import_all(reading)["lines"] == 1
    assert TranscriptFile.objects.get(path=str(reading)).lines_read == MAIN_LINES + 1


def test_a_session_id_another_project_holds_is_not_read(client, alice, bob, reading):
    # A's own hooks know the session; B's rule maps the folder to B, and no file was read yet.
    hook(client, alice, "SessionStart", session_id=MAIN_ID, cwd=MAIN_CWD)
    ProjectRule.objects.create(path_prefix=MAIN_CWD, project=bob)

    payload = {"hook_event_name": "Stop", "session_id": MAIN_ID, "transcript_path": str(reading)}
    outcome = handle_hook(bob, payload)

    assert outcome.transcript_refused.endswith(f"session {MAIN_ID} is another project's")
    assert not ApiRequest.objects.exists() and not TranscriptFile.objects.exists()


def test_the_key_of_the_project_the_folder_maps_to_reads_it_live(
    client, alice, reading, transcripts_copy
):
    before = refused()
    response = hook(
        client, alice, "Stop", session_id=MAIN_ID, cwd=MAIN_CWD, transcript_path=str(reading)
    )

    assert response.status_code == 204 and refused() == before
    mine = Session.objects.get(project=alice, external_id=MAIN_ID)
    assert tokens_of(mine) == expected_tokens()
    # A later import adds nothing twice and keeps the one session.
    import_all(transcripts_copy)
    mine.refresh_from_db()
    assert tokens_of(mine) == expected_tokens()
    assert Session.objects.filter(external_id=MAIN_ID).count() == 1


def test_another_projects_key_cannot_take_a_pending_tool_call(client, alice, bob):
    call = {"tool_use_id": "toolu_01SHARED", "tool_input": {"command": "pytest"}}
    hook(client, alice, "PreToolUse", session_id="sess-a", tool_name="Bash", **call)
    (pending,) = HookToolCall.objects.all()

    response = hook(client, bob, "PostToolUse", session_id="sess-b", tool_name="Read", **call)

    assert response.status_code == 204
    assert HookToolCall.objects.get() == pending
    pending.refresh_from_db()
    assert (pending.project, pending.session.external_id, pending.skill) == (
        alice,
        "sess-a",
        "Bash",
    )
    (theirs,) = SkillInvocation.objects.select_related("session")
    assert theirs.session is not None
    assert (theirs.project, theirs.session.external_id) == (bob, "sess-b")
    # B's call is known only from its end: B's own payload names it, and no start is known.
    assert (theirs.skill, theirs.duration_s) == ("Read", None)

    # B's own start of the same id is a call of its own, beside A's.
    hook(client, bob, "PreToolUse", session_id="sess-b", tool_name="Grep", **call)
    assert sorted(HookToolCall.objects.values_list("project__slug", "skill")) == [
        ("bob", "Grep"),
        ("spotter-dov", "Bash"),
    ]
    hook(client, alice, "PostToolUse", session_id="sess-a", tool_name="Bash", **call)
    mine = SkillInvocation.objects.get(project=alice)
    assert mine.session is not None
    assert (mine.skill, mine.session.external_id) == ("Bash", "sess-a")
    assert mine.duration_s is not None
    assert list(HookToolCall.objects.values_list("project__slug", flat=True)) == ["bob"]


FIELDS = [
    "hook_event_name",
    "session_id",
    "agent_id",
    "tool_use_id",
    "tool_name",
    "tool_input",
    "cwd",
    "transcript_path",
    "agent_transcript_path",
    "is_interrupt",
]
# Any character, lone surrogates too (JSON escapes them; no database stores them).
TEXT = st.text(st.characters(exclude_categories=()), max_size=210)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
    | st.sampled_from(["", "\x00", "~nobody-here/x.jsonl", "x" * 5000 + ".jsonl", "Stop"]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(TEXT.map(lambda t: t[:5]), children, max_size=3)
    ),
    max_leaves=5,
)
ids = itertools.count()


@pytest.mark.parametrize("field", FIELDS)
def test_any_value_in_any_field_is_answered_204_or_400_naming_it(
    client, alice, bob, reading, field
):
    key = bob.create_api_key(scope="write")[1]

    @PROPERTY
    @given(event=st.sampled_from(sorted(EVENTS)), value=JSON_VALUES)
    def check(event, value):
        number = next(ids)
        payload = {
            "hook_event_name": event,
            "session_id": f"prop-{number}",
            "agent_id": "a1",
            "tool_use_id": f"toolu_prop_{number}",
            "tool_name": "Skill",
            "tool_input": {"skill": "pdf"},
            "cwd": MAIN_CWD,
            # A's transcript, named by B's key: never read for B, whatever the payload.
            "transcript_path": str(reading),
            "agent_transcript_path": str(reading),
            field: value,
        }
        response = client.post(
            URL,
            json.dumps(payload),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key}",
        )
        assert response.status_code in (204, 400), response.content
        if response.status_code == 400:
            assert field in response.json()["error"]["message"]
        assert not ApiRequest.objects.exists()

    check()
