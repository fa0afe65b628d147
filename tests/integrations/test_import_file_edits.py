"""`import_transcripts` records the file edits IDE suggestions learn from, as the hooks do.

The expected edits are read from the fixture transcripts here with plain `json`, not with the
importer's parser: every Edit/Write/MultiEdit/NotebookEdit tool_use naming its file, whose
tool_result is not an error (the PostToolUse hook the hooks path records comes only for those).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath

import pytest

from integrations.claude_code.hooks import handle_hook
from integrations.ide.models import FileEdit
from integrations.models import TranscriptFile
from tracking.models import SkillInvocation

from .conftest import MAIN
from .test_ide_suggestions import ask
from .test_import_transcripts import run

pytestmark = pytest.mark.django_db
PATH_FIELD = {
    "Edit": "file_path",
    "Write": "file_path",
    "MultiEdit": "file_path",
    "NotebookEdit": "notebook_path",
}


@dataclass
class Use:
    id: str
    name: str
    input: dict
    session: str
    at: datetime
    top_level: bool


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def blocks(value, kind: str):
    """Every content block of type `kind` anywhere in a record (relayed ones included)."""
    if isinstance(value, dict):
        if value.get("type") == kind:
            yield value
        for inner in value.values():
            yield from blocks(inner, kind)
    elif isinstance(value, list):
        for inner in value:
            yield from blocks(inner, kind)


def read(folder: Path) -> tuple[dict[str, Use], dict[str, tuple[bool, datetime]]]:
    """Every tool_use (by id) and every tool_result (is_error, time) of a file, or of the
    files of a folder."""
    uses: dict[str, Use] = {}
    results: dict[str, tuple[bool, datetime]] = {}
    for path in [folder] if folder.is_file() else sorted(folder.rglob("*.jsonl")):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            session = record.get("sessionId", "")
            if record.get("agentId"):
                session += f":agent-{record['agentId']}"
            content = (record.get("message") or {}).get("content")
            top = (
                {id(b) for b in content if isinstance(b, dict)}
                if isinstance(content, list)
                else set()
            )
            for block in blocks(record, "tool_use"):
                uses.setdefault(
                    block["id"],
                    Use(block["id"], block["name"], block.get("input") or {}, session,
                        when(record["timestamp"]), id(block) in top),
                )  # fmt: skip
            for block in blocks(record, "tool_result"):
                results[block["tool_use_id"]] = (
                    block.get("is_error") is True,
                    when(record["timestamp"]),
                )
    return uses, results


def kind(path: str) -> tuple[str, bool]:
    """(extension, test file?) by the names in the fixtures: test_x.py, x_test.exs, tests/."""
    name = PurePosixPath(path).name
    stem, ext = os.path.splitext(name)
    folders = PurePosixPath(path).parts[:-1]
    test = (
        name.startswith("test_") or stem.endswith("_test") or bool({"test", "tests"} & set(folders))
    )
    return ext.lower(), test


def expected_edits(folder: Path) -> dict[str, tuple[str, str, bool, datetime]]:
    """tool_use id → (session, extension, test?, time of its result) of each successful edit."""
    uses, results = read(folder)
    edits = {}
    for use in uses.values():
        path = use.input.get(PATH_FIELD.get(use.name, ""))
        if isinstance(path, str) and path and use.id in results and not results[use.id][0]:
            assert use.top_level  # the fixtures relay no subagent's edit
            edits[use.id] = (use.session, *kind(path), results[use.id][1])
    return edits


def stored_edits() -> dict[str, tuple[str, str, bool, datetime]]:
    rows = FileEdit.objects.values_list(
        "tool_use_id", "session__external_id", "extension", "is_test", "edited_at"
    )
    return {key: (session, ext, test, at) for key, session, ext, test, at in rows}


def test_it_records_each_successful_edit_of_the_transcripts(transcripts_copy):
    expected = expected_edits(transcripts_copy)
    run(transcripts_copy)
    assert stored_edits() == expected
    # The fixtures' edits, by hand: 34 Elixir and 2 Elixir tests, 6 Rust, 3 Python (1 test)…
    kinds = Counter((ext, test) for _, ext, test, _ in expected.values())
    assert (len(expected), kinds[(".ex", False)], kinds[(".exs", True)]) == (53, 34, 2)
    assert (kinds[(".rs", False)], kinds[(".py", False)], kinds[(".py", True)]) == (6, 2, 1)
    assert kinds[("", False)] == 2  # .gitignore and Justfile have no extension
    assert set(FileEdit.objects.values_list("tool", flat=True)) == {"Edit", "Write"}


def test_a_second_import_adds_no_edit(transcripts_copy):
    run(transcripts_copy)
    first = stored_edits()
    run(transcripts_copy)  # nothing new in the files
    TranscriptFile.objects.all().delete()
    run(transcripts_copy)  # every file read again whole: the edits' key keeps them once
    assert stored_edits() == first
    assert FileEdit.objects.count() == len(first) == 53


def test_an_edit_whose_result_comes_in_a_later_run_is_recorded(transcripts_copy):
    main = transcripts_copy / MAIN.removeprefix("transcripts/")
    lines = main.read_bytes().splitlines(keepends=True)
    uses, _ = read(transcripts_copy)
    edit_id = next(u.id for u in uses.values() if u.name == "Write" and u.session in main.name)
    cut = next(i for i, line in enumerate(lines) if edit_id.encode() in line) + 1
    main.write_bytes(b"".join(lines[:cut]))
    run(main)
    assert not FileEdit.objects.filter(tool_use_id=edit_id).exists()  # no result yet
    main.write_bytes(b"".join(lines))
    run(main)
    expected = expected_edits(transcripts_copy)
    assert stored_edits()[edit_id] == expected[edit_id]
    assert FileEdit.objects.count() == len(
        [k for k, (session, *_) in expected.items() if session == main.stem]
    )


def test_a_failed_edit_is_not_recorded(transcripts_copy):
    path = transcripts_copy / "claude-reliability" / "coverage-test-fix.jsonl"
    uses, _ = read(path)
    first = next(u.id for u in uses.values() if u.name == "Edit")
    lines = []
    for line in path.read_text().splitlines():
        record = json.loads(line)
        for block in blocks(record, "tool_result"):
            if block["tool_use_id"] == first:
                block["is_error"] = True
        lines.append(json.dumps(record) + "\n")
    path.write_text("".join(lines))
    run(path)
    assert not FileEdit.objects.filter(tool_use_id=first).exists()
    assert FileEdit.objects.count() == len(expected_edits(path)) == 2  # its other two
    assert SkillInvocation.objects.filter(idempotency_key=first, completed=False).exists()


def test_an_edit_a_hook_recorded_is_not_recorded_again(transcripts_copy, project):
    main = transcripts_copy / MAIN.removeprefix("transcripts/")
    expected = expected_edits(main.parent)
    edit_id, (session, *_) = next(iter(expected.items()))
    uses, _ = read(main.parent)
    payload = {
        "session_id": session, "hook_event_name": "PostToolUse", "tool_name": uses[edit_id].name,
        "tool_use_id": edit_id, "tool_input": uses[edit_id].input,
    }  # fmt: skip
    handle_hook(project, payload)
    run(main.parent, "--project", project.slug)
    assert FileEdit.objects.filter(project=project).count() == len(expected)
    assert FileEdit.objects.filter(tool_use_id=edit_id).count() == 1


def following(folder: Path, ext: str, test: bool) -> dict[str, list[tuple[bool, float]]]:
    """For each skill: its first call within 10 minutes after each such edit in the same
    session, as (completed, duration s) — the rule of docs/integrations.md, counted here."""
    uses, results = read(folder)
    edits = [(s, at) for s, e, t, at in expected_edits(folder).values() if (e, t) == (ext, test)]
    calls = [
        (u.session, u.at, u.name, *results[u.id]) for u in uses.values()
        if u.top_level and u.id in results and u.name not in PATH_FIELD
    ]  # fmt: skip
    found: dict[str, list[tuple[bool, float]]] = {}
    for session, edited_at in edits:
        firsts: dict[str, tuple[bool, float]] = {}
        for call_session, at, skill, error, done_at in sorted(calls, key=lambda c: c[1]):
            if call_session == session and edited_at < at <= edited_at + timedelta(minutes=10):
                firsts.setdefault(skill, (not error, (done_at - at).total_seconds()))
        for skill, first in firsts.items():
            found.setdefault(skill, []).append(first)
    return found


def test_ide_suggestions_use_the_imported_history(api, project, read_key, transcripts_copy):
    folder = transcripts_copy / "spotter"
    run(folder, "--project", project.slug)
    expected = following(folder, ".ex", False)
    response = ask(api, read_key, file_path="lib/cairn/new_thing.ex", language="elixir")
    assert response.status_code == 200
    got = response.json()
    # No dependency pass is stored: every lift is 1, so the order is the follows, then the
    # smoothed rate of the first calls, then the name.
    order = sorted(
        expected,
        key=lambda s: (
            -len(expected[s]),
            -(sum(c for c, _ in expected[s]) + 1) / (len(expected[s]) + 2),
            s,
        ),
    )[:5]
    assert [s["skill"] for s in got] == order
    top = got[0]
    assert top["basis"] == "history"
    firsts = expected[top["skill"]]
    assert top["n"] == len(firsts) and top["n"] >= 5
    assert top["completion_rate"] == pytest.approx(sum(c for c, _ in firsts) / len(firsts))
    durations = sorted(d for _, d in firsts)
    middle = len(durations) // 2
    median = (
        durations[middle] if len(durations) % 2 else (durations[middle - 1] + durations[middle]) / 2
    )
    assert top["median_duration_s"] == pytest.approx(median, abs=1e-3)
    assert f"{top['n']} of the last 34 edits" in top["why"]
