"""`import_transcripts` into the database: every figure of expected.json, through the command."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from integrations.claude_code.importer import tuning as importer
from integrations.management.commands.import_transcripts import ProgressBar
from integrations.models import ApiRequest, Compaction, ProjectRule, TranscriptFile
from tracking.models import Project, Session, SkillHourly, SkillInvocation

from .conftest import EXPECTED, MAIN, first_live_frame

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[dict, str]:
    out, err = StringIO(), StringIO()
    call_command("import_transcripts", *[str(a) for a in args], "--json", stdout=out, stderr=err)
    return json.loads(out.getvalue()), err.getvalue()


def external_id(relative: str, expected: dict) -> str:
    session_id = expected["session_ids"][0]
    if expected["kind"] == "subagent":
        agent = relative.rsplit("/agent-", 1)[1].removesuffix(".jsonl")
        return f"{session_id}:agent-{agent}"
    return session_id


def tokens(expected: dict) -> dict:
    return {
        "input": expected["input_tokens"],
        "output": expected["output_tokens"],
        "cache_creation": expected["cache_creation_input_tokens"],
        "cache_read": expected["cache_read_input_tokens"],
    }


def test_it_imports_every_figure_of_every_file(transcripts_copy):
    result, err = run(transcripts_copy)
    assert (result["files"], result["bad_lines"], err) == (12, 0, "")
    assert result["lines"] == sum(f["lines"] for f in EXPECTED["files"].values()) == 1890
    figures = {s["id"]: s for s in result["sessions"]}
    assert len(figures) == len(EXPECTED["files"])
    for relative, expected in EXPECTED["files"].items():
        session = figures[external_id(relative, expected)]
        assert session["requests"] == expected["unique_keys"], relative
        assert session["tokens"] == tokens(expected["tokens_max_wins"]), relative
        assert session["tool_calls"] == expected["tool_use_by_name"], relative
        assert session["tool_errors"] == expected["tool_result_is_error"], relative
        assert session["started_at"] == expected["timestamp_min"], relative
        assert session["ended_at"] == expected["timestamp_max"], relative
        stored = Session.objects.get(external_id=session["id"])
        assert stored.models_used == expected["models"]
        assert stored.branch == expected["git_branches"][-1]
        assert stored.claude.version == expected["versions"][-1]
        if expected["kind"] == "subagent":
            assert session["parent"] == expected["session_ids"][0]
            assert stored.parent is not None
            assert stored.parent.external_id == expected["session_ids"][0]
        else:
            assert session["parent"] is None


@pytest.mark.parametrize(
    "setting",
    [
        # A batch smaller than any file: each file its own transaction, a subagent's file
        # after its parent's.
        {"BATCH_BYTES": 1},
        # Files read by worker processes, and stored a few at a time as they come in.
        {"PARALLEL_BYTES": 0, "IN_FLIGHT": 2, "BATCH_BYTES": 200_000},
    ],
    ids=["file-by-file", "worker-processes"],
)
def test_it_stores_the_same_figures_however_files_are_read_and_batched(
    transcripts_copy, monkeypatch, setting
):
    # The sessions must come out as when everything is one batch (the test above).
    for name, value in setting.items():
        monkeypatch.setattr(importer, name, value)
    result, _ = run(transcripts_copy)
    figures = {s["id"]: s for s in result["sessions"]}
    for relative, expected in EXPECTED["files"].items():
        session = figures[external_id(relative, expected)]
        assert session["requests"] == expected["unique_keys"], relative
        assert session["tokens"] == tokens(expected["tokens_max_wins"]), relative
        assert session["tool_calls"] == expected["tool_use_by_name"], relative
        assert (session["started_at"], session["ended_at"]) == (
            expected["timestamp_min"],
            expected["timestamp_max"],
        ), relative
    assert TranscriptFile.objects.count() == 12 and Session.objects.count() == len(figures)


def test_it_counts_a_session_with_its_subagents_once(transcripts_copy):
    run(transcripts_copy)
    expected = EXPECTED["sessions_main_plus_subagents"][MAIN]
    main = Session.objects.get(external_id=expected_main_id())
    family = [main, *main.children.all()]
    assert len(family) == 1 + len(expected["subagent_files"])
    summed = {
        name: sum(getattr(s, name) for s in family)
        for name in ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")
    }
    want = expected["tokens_max_wins"]
    assert summed == {
        "input_tokens": want["input_tokens"],
        "output_tokens": want["output_tokens"] == 28899 and 28899,
        "cache_creation_tokens": want["cache_creation_input_tokens"],
        "cache_read_tokens": want["cache_read_input_tokens"],
    }
    assert ApiRequest.objects.filter(session__in=family).count() == expected["unique_keys"]
    costs = [s.cost_usd for s in family if s.cost_usd is not None]
    assert len(costs) == len(family), "every session of the family is priced"
    assert round(sum(costs), 4) == Decimal("10.1137")
    one_hour = ApiRequest.objects.filter(session__in=family, cache_creation_1h_tokens__gt=0)
    assert not one_hour.exists()


def expected_main_id() -> str:
    return EXPECTED["files"][MAIN]["session_ids"][0]


def test_it_records_compactions_and_context_per_turn(transcripts_copy):
    run(transcripts_copy)
    main = Session.objects.get(external_id=expected_main_id())
    compaction = Compaction.objects.get(session=main)
    assert (compaction.trigger, compaction.pre_tokens) == ("auto", 170251)
    last = main.api_requests.order_by("-timestamp")[0]
    assert main.context_tokens_last == last.context_tokens
    # The last request of the 5-hour session read 106,060 tokens of context.
    assert main.context_tokens_last == 106060


def test_it_records_tool_calls_as_invocations_once(transcripts_copy):
    run(transcripts_copy)
    expected_calls = sum(sum(f["tool_use_by_name"].values()) for f in EXPECTED["files"].values())
    assert SkillInvocation.objects.count() == expected_calls == 252
    assert SkillInvocation.objects.filter(source="transcript", completed=False).count() == 16
    bash = SkillInvocation.objects.filter(skill="WebFetch").get()
    assert bash.duration_s is not None and bash.duration_s > 0
    assert bash.idempotency_key.startswith("toolu_")


def test_it_imports_the_same_file_twice_without_counting_twice(transcripts_copy):
    first, _ = run(transcripts_copy)
    before = list(Session.objects.order_by("pk").values())
    second, _ = run(transcripts_copy)
    assert (second["lines"], second["sessions"]) == (0, [])
    assert list(Session.objects.order_by("pk").values()) == before
    assert ApiRequest.objects.count() == 227
    assert SkillInvocation.objects.count() == 252


def test_it_sums_up_the_run_as_the_sessions_add_up(transcripts_copy):
    # The run's own counts (what it stored) against its sessions' figures: a subagent's
    # failed call relayed in its parent's file as well must count once in both.
    out = StringIO()
    call_command("import_transcripts", str(transcripts_copy), stdout=out, stderr=StringIO())
    summary = out.getvalue()
    assert "Requests: 227 new, 0 raised (max-wins)" in summary
    assert "Tool calls: 252 new, 16 of them errors" in summary
    assert "  tool calls: 252 (16 errors)" in summary


def test_it_reads_only_what_a_growing_file_added(transcripts_copy):
    path = transcripts_copy / "spotter" / "tool_heavy.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    expected = EXPECTED["files"]["transcripts/spotter/tool_heavy.jsonl"]
    # Cut after two tool_use lines whose results come later (lines 32 and 33), inside a
    # request's lines (its output count grows later) and inside a line.
    path.write_bytes(b"".join(lines[:30]) + lines[30][:35])
    first, _ = run(path)
    assert first["lines"] == 30
    stored = TranscriptFile.objects.get()
    assert stored.offset == len(b"".join(lines[:30]))
    assert len(stored.pending_tools) == 2
    assert sum(first["sessions"][0]["tool_calls"].values()) == 2
    path.write_bytes(b"".join(lines))
    second, err = run(path)
    assert (second["lines"], second["bad_lines"], err) == (expected["lines"] - 30, 0, "")
    session = second["sessions"][0]
    assert session["tokens"] == tokens(expected["tokens_max_wins"])
    assert session["requests"] == expected["unique_keys"]
    assert session["tool_calls"] == expected["tool_use_by_name"]
    assert TranscriptFile.objects.get().pending_tools == {}


def test_it_counts_a_truncated_line_and_names_it(transcripts_copy):
    path = transcripts_copy / "spotter" / "short.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    lines.insert(3, lines[3][:50] + b"\n")
    path.write_bytes(b"".join(lines))
    result, err = run(path)
    assert result["bad_lines"] == 1
    assert f"{path}:4: skipped, not JSON" in err
    expected = EXPECTED["files"]["transcripts/spotter/short.jsonl"]
    assert result["sessions"][0]["tokens"] == tokens(expected["tokens_max_wins"])


def test_it_skips_garbage_lines_and_keeps_the_rest(transcripts_copy):
    path = transcripts_copy / "spotter" / "tool_heavy.jsonl"
    with path.open("ab") as handle:
        handle.write(b'\x00\xffgarbage\n[1, 2]\n{"type": "from-the-future"}\n\n')
    result, err = run(path)
    assert result["bad_lines"] == 3
    assert err.count("warning:") == 3 and f"{path}:42: skipped, unknown type" in err
    expected = EXPECTED["files"]["transcripts/spotter/tool_heavy.jsonl"]
    assert result["lines"] == expected["lines"] + 4
    assert result["sessions"][0]["tokens"] == tokens(expected["tokens_max_wins"])
    assert TranscriptFile.objects.get().bad_lines == 3


def test_it_reads_a_rewritten_file_again(transcripts_copy):
    path = transcripts_copy / "spotter" / "short.jsonl"
    other = transcripts_copy / "spotter" / "tool_heavy.jsonl"
    run(path)
    path.write_bytes(other.read_bytes())  # same path, other content (longer)
    result, err = run(path)
    assert "rewritten or truncated" in err
    assert TranscriptFile.objects.get(path=str(path)).rewrites == 1
    expected = EXPECTED["files"]["transcripts/spotter/tool_heavy.jsonl"]
    assert result["sessions"][0]["tokens"] == tokens(expected["tokens_max_wins"])
    # Truncated to less than was read: read again, nothing counted twice.
    path.write_bytes(b"".join(other.read_bytes().splitlines(keepends=True)[:10]))
    run(path)
    assert TranscriptFile.objects.get(path=str(path)).rewrites == 2
    run(other)
    assert ApiRequest.objects.count() == 1 + 4
    assert SkillInvocation.objects.count() == 2 + 6


def test_it_counts_a_transcript_under_two_session_ids_once(transcripts_copy):
    path = transcripts_copy / "spotter" / "tool_heavy.jsonl"
    session_id = EXPECTED["files"]["transcripts/spotter/tool_heavy.jsonl"]["session_ids"][0]
    resumed = path.with_name("resumed.jsonl")
    resumed.write_text(path.read_text().replace(session_id, "aaaaaaaa-resumed"))
    result, _ = run(path, resumed)
    figures = {s["id"]: s for s in result["sessions"]}
    # The file read first owns the requests (here the copy, by name); the other adds nothing.
    assert figures["aaaaaaaa-resumed"]["requests"] == 4
    assert figures["aaaaaaaa-resumed"]["tokens"]["output"] == 212
    assert figures[session_id]["requests"] == 0
    assert figures[session_id]["tokens"]["output"] == 0
    assert ApiRequest.objects.count() == 4
    assert SkillInvocation.objects.count() == 6


def test_it_counts_subagent_messages_relayed_to_the_parent_once(transcripts_copy):
    main = transcripts_copy / MAIN.removeprefix("transcripts/")
    subagents = main.with_suffix("") / "subagents"
    result, _ = run(main)
    child = Session.objects.get(external_id=f"{expected_main_id()}:agent-a2898e3")
    relayed = child.api_requests.count()
    assert relayed > 0 and child.api_requests.filter(nested=False).count() == 0
    result, _ = run(subagents)
    expected = EXPECTED["files"][MAIN.removesuffix(".jsonl") + "/subagents/agent-a2898e3.jsonl"]
    child.refresh_from_db()
    assert child.api_requests.count() == expected["unique_keys"] == 12
    assert child.output_tokens == expected["tokens_max_wins"]["output_tokens"]
    assert child.cache_read_tokens == expected["tokens_max_wins"]["cache_read_input_tokens"]
    assert ApiRequest.objects.count() == 152
    assert SkillInvocation.objects.filter(session=child).count() == 33


def test_it_says_cost_not_known_for_a_model_without_a_price(transcripts_copy):
    path = transcripts_copy / "spotter" / "short.jsonl"
    path.write_text(path.read_text().replace("claude-opus-4-6", "claude-nova-9"))
    result, _ = run(path)
    assert result["sessions"][0]["cost_usd"] is None
    assert Session.objects.get().cost_usd is None


def test_it_stores_nothing_on_a_dry_run(transcripts_copy):
    out = StringIO()
    call_command("import_transcripts", str(transcripts_copy), "--dry-run", stdout=out)
    assert "Dry run, nothing stored" in out.getvalue()
    assert "cost: $" in out.getvalue()
    assert not Session.objects.exists() and not TranscriptFile.objects.exists()


def test_it_fails_clearly_on_a_missing_folder(tmp_path):
    with pytest.raises(CommandError, match="No such file or folder: .*nowhere"):
        call_command("import_transcripts", str(tmp_path / "nowhere"))


def test_it_reads_the_configured_folders_by_default(transcripts_copy, monkeypatch, tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    transcripts_copy.rename(config / "projects")
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", f"{tmp_path / 'none'},{config}")
    out = StringIO()
    call_command("import_transcripts", "--json", stdout=out)
    assert json.loads(out.getvalue())["files"] == 12
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "none"))
    with pytest.raises(CommandError, match="No Claude Code transcripts folder found"):
        call_command("import_transcripts")


def test_it_puts_sessions_in_the_project_of_their_repository(tmp_path, transcripts_copy):
    repository = tmp_path / "work" / "cairn"
    (repository / ".git").mkdir(parents=True)
    (repository / "src").mkdir()
    path = transcripts_copy / "spotter" / "short.jsonl"
    path.write_text(path.read_text().replace("/home/marco/projects/spotter", f"{repository}/src"))
    run(path)
    assert Session.objects.get().project.slug == "cairn"
    # A rule the user set wins over the repository's name.
    other = transcripts_copy / "spotter" / "tool_heavy.jsonl"
    elsewhere = Project.objects.create(name="Spotter app", slug="spotter-app")
    ProjectRule.objects.create(path_prefix="/home/marco/projects", project=elsewhere)
    run(other)
    assert Session.objects.get(project=elsewhere).external_id.startswith("d6e0bada")


def test_it_puts_every_session_in_the_given_project(transcripts_copy, project):
    run(transcripts_copy / "spotter", "--project", project.slug)
    assert Session.objects.exclude(project=project).count() == 0
    assert Session.objects.filter(project=project).count() == 5
    with pytest.raises(CommandError, match="No project with slug 'nope'"):
        call_command("import_transcripts", str(transcripts_copy), "--project", "nope")


def test_it_skips_files_not_modified_since(transcripts_copy):
    old = transcripts_copy / "spotter" / "short.jsonl"
    os.utime(old, (1_600_000_000, 1_600_000_000))
    result, _ = run(transcripts_copy / "spotter", "--since", "2021-01-01")
    assert result["files"] == 4
    assert not Session.objects.filter(external_id__startswith="55604662").exists()


def test_it_prints_exactly_the_json_shape_of_the_issue(transcripts_copy):
    result, _ = run(transcripts_copy / "spotter")
    assert set(result) == {"files", "lines", "bad_lines", "sessions", "projects"}
    for session in result["sessions"]:
        assert set(session) == {
            "id", "parent", "requests", "tokens", "tool_calls", "tool_errors", "cost_usd",
            "started_at", "ended_at",
        }  # fmt: skip
        assert set(session["tokens"]) == {"input", "output", "cache_creation", "cache_read"}


def test_it_exits_non_zero_with_a_clear_message_on_a_missing_folder(tmp_path):
    done = subprocess.run(
        [sys.executable, "manage.py", "import_transcripts", str(tmp_path / "gone")],
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == f"CommandError: No such file or folder: {tmp_path / 'gone'}"


def test_it_draws_a_progress_bar_only_on_a_terminal():
    class Terminal(StringIO):
        def isatty(self) -> bool:
            return True

    terminal, pipe = Terminal(), StringIO()
    for stream in (terminal, pipe):
        bar = ProgressBar(stream)
        bar(0, 2, Path("a.jsonl"))
        bar(2, 2, None)
    assert pipe.getvalue() == ""
    assert "[" + "." * 30 + "] 0/2 files  a.jsonl" in terminal.getvalue()
    assert terminal.getvalue().endswith("] 2/2 files  done" + " " * 36 + "\n")


def test_it_tells_live_pages_about_sessions_still_at_work(
    transcripts_copy, project, django_capture_on_commit_callbacks
):
    path = transcripts_copy / "spotter" / "short.jsonl"
    recent = (timezone.now() - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M")
    path.write_text(re.sub(r"2026-02-10T\d\d:\d\d", recent, path.read_text()))
    old = transcripts_copy / "spotter" / "tool_heavy.jsonl"
    with django_capture_on_commit_callbacks() as callbacks:
        run(path, old, "--project", project.slug)
    assert Session.objects.get(external_id__startswith="55604662").status == "active"
    assert Session.objects.get(external_id__startswith="d6e0bada").status == "ended"

    frame = first_live_frame(project, callbacks)
    assert frame["session"]["external_id"].startswith("55604662")
    assert len(callbacks) == 1  # the ended session is not live news


def test_it_takes_prices_from_settings_over_the_table(transcripts_copy, settings):
    path = transcripts_copy / "spotter" / "short.jsonl"
    path.write_text(path.read_text().replace("claude-opus-4-6", "claude-nova-9"))
    settings.CAIRN_MODEL_PRICES = {
        "claude-nova-9": {
            "input": "1", "output": "2", "cache_write_5m": "3", "cache_write_1h": "4",
            "cache_read": "0.5",
        }
    }  # fmt: skip
    result, _ = run(path)
    # 3 input, 13 output, 13,835 one-hour cache writes, 11,515 cache reads (expected.json).
    # (3×1 + 13×2 + 13,835×4 + 11,515×0.5) / 1e6 = $0.0611265, stored to the micro-dollar.
    assert result["sessions"][0]["cost_usd"] == 0.061127


def test_it_takes_a_whole_last_line_without_newline_once(transcripts_copy):
    path = transcripts_copy / "spotter" / "tool_heavy.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    expected = EXPECTED["files"]["transcripts/spotter/tool_heavy.jsonl"]
    path.write_bytes(b"".join(lines[:25]).rstrip(b"\n"))  # its writer stopped before the newline
    first, _ = run(path)
    assert first["lines"] == 25
    path.write_bytes(b"".join(lines))
    second, err = run(path)
    assert (second["lines"], second["bad_lines"], err) == (expected["lines"] - 25, 0, "")
    assert TranscriptFile.objects.get().lines_read == expected["lines"]
    assert second["sessions"][0]["tokens"] == tokens(expected["tokens_max_wins"])


def test_it_makes_the_sum_of_the_days_equal_the_sum_of_the_sessions(transcripts_copy):
    # Without the subagents' files their relayed messages are the only copy: counted once.
    shutil.rmtree(transcripts_copy / MAIN.removeprefix("transcripts/").removesuffix(".jsonl"))
    result, _ = run(transcripts_copy)
    by_day = (
        ApiRequest.objects.annotate(day=TruncDate("timestamp"))
        .values("day")
        .annotate(output=Sum("output_tokens"), read=Sum("cache_read_tokens"))
    )
    days = {"output": sum(d["output"] for d in by_day), "read": sum(d["read"] for d in by_day)}
    sessions = {
        "output": sum(s["tokens"]["output"] for s in result["sessions"]),
        "read": sum(s["tokens"]["cache_read"] for s in result["sessions"]),
    }
    assert days == sessions
    assert len({d["day"] for d in by_day}) == 3  # 2026-01-21, 2026-02-10, 2026-02-12


REFUSE = {
    "postgresql": [
        "CREATE FUNCTION refuse_tool_heavy() RETURNS trigger AS $$ BEGIN "
        "IF NEW.path LIKE '%tool_heavy%' THEN RAISE EXCEPTION 'refused by the test'; END IF; "
        "RETURN NEW; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER refuse BEFORE INSERT ON integrations_transcriptfile "
        "FOR EACH ROW EXECUTE FUNCTION refuse_tool_heavy()",
    ],
    "sqlite": [
        "CREATE TRIGGER refuse BEFORE INSERT ON integrations_transcriptfile "
        "WHEN NEW.path LIKE '%tool_heavy%' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
    ],
}


def test_it_stores_nothing_of_a_file_the_database_refuses(transcripts_copy):
    # The database refuses the file's last write (its read position): everything written
    # before it in the same file must go too, and the file before it must stay.
    with connection.cursor() as cursor:
        for statement in REFUSE[connection.vendor]:
            cursor.execute(statement)
    short = transcripts_copy / "spotter" / "short.jsonl"
    heavy = transcripts_copy / "spotter" / "tool_heavy.jsonl"
    with pytest.raises(CommandError, match=r"tool_heavy.jsonl: not imported, nothing of it"):
        run(short, heavy)
    assert list(Session.objects.values_list("external_id", flat=True)) == [
        EXPECTED["files"]["transcripts/spotter/short.jsonl"]["session_ids"][0]
    ]
    assert ApiRequest.objects.count() == 1 and SkillInvocation.objects.count() == 2
    assert SkillHourly.objects.aggregate(n=Sum("invocations"))["n"] == 2
    assert list(TranscriptFile.objects.values_list("path", flat=True)) == [str(short)]
