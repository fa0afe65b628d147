"""`import_transcripts` under faults: killed mid-import, waiting on another run's lock, files
and folders it cannot read."""

from __future__ import annotations

import ctypes
import importlib.util
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from integrations.claude_code.importer import tuning
from integrations.claude_code.importer.runner import RUN_LOCK
from integrations.models import ApiRequest, TranscriptFile
from tracking.models import Session, SkillInvocation

from .conftest import EXPECTED, MAIN

ROOT = Path(__file__).resolve().parents[2]
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="a second process needs a shared Postgres database"
)


def bench_import():
    """scripts/bench_import.py, for its `build` (the data set N times, every id unique)."""
    spec = importlib.util.spec_from_file_location("bench_import", ROOT / "scripts/bench_import.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def database_url() -> str:
    """The URL of the test database, for a `manage.py` run in another process."""
    settings = connection.settings_dict
    return f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"


def manage(*args: str) -> list[str]:
    return [sys.executable, "manage.py", "import_transcripts", *args]


def environment() -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url()}


def children(pid: int) -> set[int]:
    """The processes whose parent is `pid`, from /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # "pid (name) state ppid ...": the name may hold spaces and parentheses.
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, dead but not reaped by init, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def sockets(pid: int) -> list[str]:
    """The sockets process `pid` has open, from /proc."""
    found = []
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:  # gone
        return []
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:"):
            found.append(target)
    return found


def backends(where: str = "TRUE") -> list[tuple]:
    """Other server processes on the test database: (pid, state, xid)."""
    sql = (
        "SELECT pid, state, backend_xid::text FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid() AND "
    )
    with connection.cursor() as cursor:
        cursor.execute(sql + where)  # `where`: one of this module's literals
        return cursor.fetchall()


def session_tokens() -> Counter:
    """Each stored session's four token counts, as a multiset."""
    fields = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")
    return Counter(Session.objects.values_list(*fields))


def expected_tokens(copies: int) -> Counter:
    """expected.json's token counts of each transcript, `copies` times."""
    counts: Counter = Counter()
    for expected in EXPECTED["files"].values():
        want = expected["tokens_max_wins"]
        key = (
            want["input_tokens"],
            want["output_tokens"],
            want["cache_creation_input_tokens"],
            want["cache_read_input_tokens"],
        )
        counts[key] += copies
    return counts


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_killed_import_leaves_no_worker_nor_open_transaction_and_a_rerun_completes(tmp_path):
    # 5 copies: 19 MB, more than PARALLEL_BYTES (worker processes) and BATCH_BYTES (two
    # transactions, so the kill can come between them or inside one).
    copies = 5
    total_bytes, _ = bench_import().build(tmp_path, copies)
    assert total_bytes > tuning.PARALLEL_BYTES
    folder = tmp_path / "projects"
    log = (tmp_path / "out").open("w+")
    ours = {pid for pid, _, _ in backends()}  # this process's pool: not to be terminated
    parent = subprocess.Popen(
        manage(str(folder), "--json"), cwd=ROOT, env=environment(), stdout=log, stderr=log
    )
    workers: set[int] = set()
    try:
        # Kill it while its workers run and a transaction of it has written rows.
        deadline = time.monotonic() + 120
        while not (workers and backends("backend_xid IS NOT NULL")):
            assert parent.poll() is None, "the import ended before it could be killed"
            assert time.monotonic() < deadline, "the import never wrote anything"
            workers |= children(parent.pid)
            time.sleep(0.02)
        workers |= children(parent.pid)
        # Nor do they hold their parent's connections (its Postgres socket among them). They
        # were set up (forked at the first file, each set up at once) long before this write.
        assert {pid: sockets(pid) for pid in workers} == {pid: [] for pid in workers}
        parent.send_signal(signal.SIGKILL)
        parent.wait()

        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (
            any(alive(pid) for pid in workers) or backends("state LIKE 'idle in transaction%'")
        ):
            time.sleep(0.05)
        assert [pid for pid in workers if alive(pid)] == [], "workers outlived their parent"
        assert backends("state LIKE 'idle in transaction%'") == []
        assert TranscriptFile.objects.count() < 12 * copies, "killed before the end"

        rerun = subprocess.run(
            manage(str(folder), "--json", "--lock-timeout", "10"),
            cwd=ROOT,
            env=environment(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert rerun.returncode == 0, rerun.stderr
        assert json.loads(rerun.stdout)["files"] == 12 * copies
    finally:
        for pid in workers:  # the old code's orphans, so that the next tests start clean
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        with connection.cursor() as cursor:
            for pid, _, _ in backends():  # the old code's backends, held by its orphans
                if pid not in ours:
                    cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    # As a clean import: every session's tokens as expected.json says, each row once.
    assert session_tokens() == expected_tokens(copies)
    assert Session.objects.count() == len(EXPECTED["files"]) * copies
    assert ApiRequest.objects.count() == 227 * copies
    assert SkillInvocation.objects.count() == 252 * copies
    assert TranscriptFile.objects.count() == 12 * copies


@pytest.fixture
def other_connection() -> Iterator[psycopg.Connection]:
    """A second connection to the test database, as another import would hold."""
    with psycopg.connect(database_url(), autocommit=True) as other:
        yield other


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_run_waiting_on_another_runs_lock_says_so_and_gives_up(
    transcripts_copy, other_connection
):
    other_connection.execute("SELECT pg_advisory_lock(%s)", [RUN_LOCK])
    started = time.monotonic()
    done = subprocess.run(
        manage(str(transcripts_copy), "--lock-timeout", "1.5"),
        cwd=ROOT,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "another import is running (it holds the lock on transcript imports): waiting for "
        "it, at most 1.5 s",
        "CommandError: another import holds the lock on transcript imports and did not finish "
        "within 1.5 s (--lock-timeout); retry later",
    ]
    assert 1.5 <= time.monotonic() - started < 30
    assert not Session.objects.exists() and not TranscriptFile.objects.exists()
    # Once the other run is done, the same command imports everything.
    other_connection.execute("SELECT pg_advisory_unlock(%s)", [RUN_LOCK])
    out = StringIO()
    call_command("import_transcripts", str(transcripts_copy), "--json", stdout=out)
    assert json.loads(out.getvalue())["files"] == 12


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_run_waiting_on_a_row_lock_names_the_table_and_gives_up(
    transcripts_copy, other_connection
):
    path = transcripts_copy / "spotter" / "short.jsonl"
    call_command("import_transcripts", str(path), stdout=StringIO())
    with path.open("a") as handle:  # something new to store
        handle.write(path.read_text().splitlines(keepends=True)[-1])
    record = TranscriptFile.objects.get()
    with other_connection.transaction():
        other_connection.execute(
            "SELECT * FROM integrations_transcriptfile WHERE id = %s FOR UPDATE", [record.pk]
        )
        done = subprocess.run(
            manage(str(path), "--lock-timeout", "1"),
            cwd=ROOT,
            env=environment(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "CommandError: another import or a hook holds the lock on table "
        f"integrations_transcriptfile that {path} needs, for longer than the lock timeout "
        "(--lock-timeout); nothing of this batch stored, retry later"
    )
    assert TranscriptFile.objects.get().offset == record.offset


def test_a_run_waiting_on_another_writer_gives_up_on_sqlite_too(tmp_path, transcripts_copy):
    # Its own SQLite file, shared with a second connection that holds the write lock.
    database = tmp_path / "cairn.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}
    migrate = [sys.executable, "manage.py", "migrate", "-v0"]
    subprocess.run(migrate, cwd=ROOT, env=env, check=True, timeout=120)
    # All 12 files in one batch; the error names the first.
    first = min(str(path.resolve()) for path in transcripts_copy.rglob("*.jsonl"))
    holder = sqlite3.connect(database, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        done = subprocess.run(
            manage(str(transcripts_copy), "--lock-timeout", "1"),
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        waited = time.monotonic() - started
        holder.execute("ROLLBACK")
        assert done.returncode == 1
        assert done.stderr.strip() == (
            "CommandError: another import or a hook holds the lock on the database that "
            f"{first} needs, for longer than the lock timeout (--lock-timeout); nothing of "
            "this batch stored, retry later"
        )
        # One wait of about a second, not SQLite's 20 s (settings), nor one per file.
        assert 1 <= waited < 15
        assert holder.execute("SELECT count(*) FROM integrations_transcriptfile").fetchone() == (0,)
    finally:
        holder.close()


CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2
CAPABILITY_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


@pytest.fixture
def permissions_apply() -> Iterator[None]:
    """File permissions that stop this process, even as root: the tests run as root, who
    reads anything through CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH. They are taken out of
    this thread's effective capabilities (and so of the workers it forks) and put back
    after; the kernel then refuses reads with EACCES, as it does for any user."""
    if os.geteuid() != 0:
        yield
        return
    if not sys.platform.startswith("linux"):
        pytest.skip("capabilities are Linux's")
    libc = ctypes.CDLL(None, use_errno=True)
    header = _CapHeader(CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    assert libc.capget(ctypes.byref(header), data) == 0, os.strerror(ctypes.get_errno())
    before = data[0].effective
    data[0].effective &= ~((1 << CAP_DAC_OVERRIDE) | (1 << CAP_DAC_READ_SEARCH))
    if libc.capset(ctypes.byref(header), data) != 0:
        pytest.skip(f"cannot drop capabilities: {os.strerror(ctypes.get_errno())}")
    try:
        yield
    finally:
        data[0].effective = before
        assert libc.capset(ctypes.byref(header), data) == 0


def tokens(relative: str) -> dict:
    want = EXPECTED["files"][relative]["tokens_max_wins"]
    return {
        "input": want["input_tokens"],
        "output": want["output_tokens"],
        "cache_creation": want["cache_creation_input_tokens"],
        "cache_read": want["cache_read_input_tokens"],
    }


@pytest.mark.django_db
@pytest.mark.parametrize("parallel", [False, True], ids=["one-process", "worker-processes"])
def test_it_skips_an_unreadable_file_and_folder_names_them_and_imports_the_rest(
    transcripts_copy, permissions_apply, monkeypatch, parallel
):
    if parallel:
        monkeypatch.setattr(tuning, "PARALLEL_BYTES", 0)
    short = transcripts_copy / "spotter" / "short.jsonl"
    subagents = transcripts_copy / MAIN.removeprefix("transcripts/").removesuffix(".jsonl")
    subagents /= "subagents"
    hidden = len(list(subagents.glob("*.jsonl")))
    short.chmod(0)
    subagents.chmod(0)
    try:
        out, err = StringIO(), StringIO()
        call_command("import_transcripts", str(transcripts_copy), "--json", stdout=out, stderr=err)
        text = StringIO()
        call_command(
            "import_transcripts", str(transcripts_copy), "--dry-run", stdout=text, stderr=StringIO()
        )
    finally:
        short.chmod(0o644)
        subagents.chmod(0o755)
    result = json.loads(out.getvalue())
    assert err.getvalue().splitlines() == [
        f"warning: {short}: not read, Permission denied",
        f"warning: {subagents}: folder not read, Permission denied",
    ]
    assert result["skipped"] == [
        {"path": str(short), "kind": "file", "reason": "Permission denied"},
        {"path": str(subagents), "kind": "folder", "reason": "Permission denied"},
    ]
    assert result["files"] == 12 - 1 - hidden == 9
    figures = {s["id"]: s for s in result["sessions"]}
    heavy = "transcripts/spotter/tool_heavy.jsonl"
    assert figures[EXPECTED["files"][heavy]["session_ids"][0]]["tokens"] == tokens(heavy)
    assert not TranscriptFile.objects.filter(path=str(short)).exists()
    assert "Unreadable, skipped: 1 file, 1 folder (see the warnings" in text.getvalue()

    # Readable again: the next run reads them, and nothing is counted twice.
    again = StringIO()
    call_command("import_transcripts", str(transcripts_copy), "--json", stdout=again)
    assert "skipped" not in json.loads(again.getvalue())
    assert session_tokens() == expected_tokens(1)
    assert ApiRequest.objects.count() == 227 and SkillInvocation.objects.count() == 252


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("soon", "--lock-timeout: not a number of seconds: 'soon'"),
        ("0", "--lock-timeout: must be more than 0 and at most 86400 s: '0'"),
        ("nan", "--lock-timeout: must be more than 0 and at most 86400 s: 'nan'"),
        ("86401", "--lock-timeout: must be more than 0 and at most 86400 s: '86401'"),
    ],
)
def test_it_refuses_a_lock_timeout_that_is_not_a_wait(transcripts_copy, value, message):
    with pytest.raises(CommandError) as refused:
        call_command("import_transcripts", str(transcripts_copy), "--lock-timeout", value)
    assert str(refused.value) == message
