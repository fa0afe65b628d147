"""Importing Claude Code transcripts into Cairn: incremental and idempotent.

Each file remembers how far it was read (always the end of a complete line). A file that
shrank or whose first bytes changed was rewritten and is read again from the start: requests
merge by key (max-wins) and tool calls by tool_use id, so reading a line twice never counts it
twice.

Files are read and parsed first (`read_file`, no database; by worker processes when there is
much to read), then stored a batch at a time (`store_files`, one transaction per BATCH_BYTES
of new lines, with its read positions): a file is stored whole or not at all.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import multiprocessing as mp
import os
import sys
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.text import slugify

from analytics import broadcast
from integrations.claude_code.accounting import USAGE_FIELDS, Ledger, Request, Usage
from integrations.claude_code.pricing import cost_of
from integrations.claude_code.transcript import (
    Chunk,
    SessionSeen,
    ToolResult,
    agent_id_from_path,
    external_id,
    parse_time,
    read_chunk,
    split_lines,
)
from integrations.models import (
    TOKEN_FIELDS,
    ApiRequest,
    ClaudeSession,
    Compaction,
    ProjectRule,
    TranscriptFile,
)
from lib.sql import any_of, insert_rows, update_rows
from tracking.ingest import InvocationEvent, record_invocations
from tracking.models import Project, Session, SkillInvocation

log = logging.getLogger(__name__)

AGENT = "claude-code"
HEAD = 4096
RACY_NS = 2_000_000_000
# New bytes after which the files read so far are stored, in one transaction: large enough
# that round trips do not count, small enough that a batch's row locks (on skill rollups)
# are held for a short while only.
BATCH_BYTES = 16_000_000
# New bytes from which files are read by worker processes, at most MAX_WORKERS, with at most
# IN_FLIGHT files read ahead of the one being stored.
PARALLEL_BYTES = 8_000_000
MAX_WORKERS = 4
IN_FLIGHT = 64
# New requests after which the tables are analyzed (then again at each doubling).
ANALYZE_AFTER = 2_000
MICRO_DOLLAR = Decimal("0.000001")
# The Session fields `refresh_totals` computes.
TOTAL_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_creation_tokens",
    "cache_read_tokens",
    "models_used",
    "cost_usd",
    "context_tokens_last",
    "status",
    "ended_at",
)
# Usage attribute for each ApiRequest token field, in the same order.
USAGE_ATTRS = dict(zip(TOKEN_FIELDS, USAGE_FIELDS, strict=True))


class TranscriptPathError(Exception):
    """A folder or file to import does not exist."""


class ImportFailed(Exception):
    """The database refused a file's rows; the message names the file."""


@dataclass
class FileResult:
    """What reading one file found."""

    path: str
    bytes: int = 0
    lines: int = 0
    bad_lines: int = 0
    rewritten: bool = False
    warnings: list[str] = field(default_factory=list)


@dataclass
class Stored:
    """What storing a batch of files changed."""

    requests_new: int = 0
    requests_updated: int = 0
    tool_calls: int = 0
    tool_errors: int = 0
    sessions: set[int] = field(default_factory=set)

    def add_stored(self, other: Stored) -> None:
        """Count what storing another batch changed."""
        for name in ("requests_new", "requests_updated", "tool_calls", "tool_errors"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.sessions |= other.sessions


@dataclass
class ImportResult(Stored):
    """A whole run: the files read, and (as Stored) what storing them changed."""

    files: int = 0
    files_changed: int = 0
    bytes: int = 0
    lines: int = 0
    bad_lines: int = 0
    rewritten: int = 0
    warnings: list[str] = field(default_factory=list)
    sessions: set[int] = field(default_factory=set)
    # Each touched session's own figures after the run (see `session_figures`).
    figures: list[dict] = field(default_factory=list)

    def add(self, result: FileResult) -> None:
        """Count a file read."""
        self.files += 1
        self.files_changed += 1 if result.bytes or result.rewritten else 0
        for name in ("bytes", "lines", "bad_lines"):
            setattr(self, name, getattr(self, name) + getattr(result, name))
        self.rewritten += int(result.rewritten)
        self.warnings += result.warnings


# --- finding files -----------------------------------------------------------------------


def default_paths() -> list[Path]:
    """Where Claude Code keeps transcripts: `$CLAUDE_CONFIG_DIR/projects` (comma-separated
    folders) or `~/.claude/projects` and `~/.config/claude/projects`."""
    configured = os.environ.get("CLAUDE_CONFIG_DIR", "").strip()
    if configured:
        roots = [Path(p.strip()).expanduser() for p in configured.split(",") if p.strip()]
    else:
        roots = [Path("~/.claude").expanduser(), Path("~/.config/claude").expanduser()]
    return [root / "projects" for root in roots]


def find_transcripts(paths: Iterable[Path], *, since: datetime | None = None) -> list[Path]:
    """Every `.jsonl` under `paths` (files are taken as given), sorted so that a session's main
    transcript comes before its subagents'. `since` skips files not modified since then."""
    found: list[Path] = []
    for path in paths:
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found += [p for p in path.rglob("*.jsonl") if p.is_file()]
        else:
            raise TranscriptPathError(f"No such file or folder: {path}")
    found = sorted({p.resolve() for p in found}, key=lambda p: str(p))
    if since is not None:
        found = [p for p in found if p.stat().st_mtime >= since.timestamp()]
    return found


# --- projects ----------------------------------------------------------------------------


def repository_name(cwd: str) -> str:
    """The top folder of the git repository holding `cwd` (or `cwd`'s own name if there is
    none here, e.g. a transcript copied from another machine)."""
    path = Path(cwd)
    for folder in (path, *path.parents):
        if (folder / ".git").exists():
            return folder.name
    return path.name


def project_for_cwd(cwd: str, fallback: str) -> Project:
    """The project of a session working in `cwd`: the longest matching ProjectRule, else the
    project named like the repository's top folder, created when missing."""
    if cwd:
        rules = ProjectRule.objects.select_related("project").order_by("-path_prefix")
        for rule in rules:
            prefix = rule.path_prefix.rstrip("/")
            if cwd == prefix or cwd.startswith(prefix + "/"):
                return rule.project
    name = repository_name(cwd) if cwd else fallback
    slug = slugify(name)[:100] or "claude-code"
    project, _ = Project.objects.get_or_create(slug=slug, defaults={"name": (name or slug)[:200]})
    return project


# --- reading ------------------------------------------------------------------------------


def _head_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class FileRead:
    """What one transcript added since it was last read: parsed, not yet stored."""

    path: Path
    known: TranscriptFile | None
    result: FileResult
    # None: nothing new (untouched since read, or no new bytes): nothing to store.
    chunk: Chunk | None = None
    stat: os.stat_result | None = None
    head: bytes = b""
    offset: int = 0
    first_line: int = 1
    pending: dict = field(default_factory=dict)


def _untouched(known: TranscriptFile | None, stat: os.stat_result) -> bool:
    """Whether a file is as it was when last read (same size, time and inode): a run with
    nothing new does not even open it."""
    return known is not None and (known.size, known.mtime_ns, known.inode) == (
        stat.st_size,
        stat.st_mtime_ns,
        stat.st_ino,
    )


def read_file(path: Path, known: TranscriptFile | None) -> FileRead:
    """Read and parse what is new in one transcript; `known` is its TranscriptFile (None:
    never read). No database access: storing is `store_files`."""
    read = FileRead(path=path, known=known, result=FileResult(path=str(path)))
    stat = path.stat()
    if _untouched(known, stat):
        return read
    with path.open("rb") as handle:
        head = handle.read(HEAD)
        offset, first_line, pending = 0, 1, {}
        if known is not None:
            same_head = _head_hash(head[: known.head_length]) == known.head_hash
            if stat.st_size < known.offset or not same_head:
                read.result.rewritten = True
                read.result.warnings.append(f"{path}: rewritten or truncated, reading it again")
            else:
                offset, first_line = known.offset, known.lines_read + 1
                pending = dict(known.pending_tools)
                if stat.st_size == offset:
                    return read
        # A last line that was whole but had no newline yet was taken last time: the newline
        # written after it now is its end, not an empty line.
        handle.seek(max(offset - 1, 0))
        skip = 1 if offset and handle.read(1) != b"\n" and handle.read(1) == b"\n" else 0
        handle.seek(offset + skip)
        data = handle.read()
    lines, consumed = split_lines(data)
    chunk = read_chunk(lines, first_line=first_line, agent_id=agent_id_from_path(str(path)))
    result = read.result
    result.bytes, result.lines, result.bad_lines = consumed + skip, chunk.lines, chunk.bad_lines
    for number, problem in chunk.problems:
        result.warnings.append(f"{path}:{number}: skipped, {problem}")
    read.chunk, read.stat, read.head = chunk, stat, head
    read.offset, read.first_line, read.pending = offset, first_line, pending
    return read


def read_files(files: list[Path], known: dict[str, TranscriptFile]) -> Iterator[FileRead]:
    """`read_file` of each file, in order. With much to read, by worker processes (one per
    core), while the caller stores what they read before: parsing is most of the import's
    Python work and one core would leave the others idle."""
    todo = 0
    for path in files:
        record, stat = known.get(str(path)), path.stat()
        if not _untouched(record, stat):
            todo += stat.st_size - (record.offset if record else 0)
    workers = min(os.cpu_count() or 1, MAX_WORKERS)
    # Forked workers start at once, with everything imported. Only on Linux: on macOS a
    # forked child of a process with threads may crash, and a new interpreter per worker
    # (the other way to start one) costs more than it saves here.
    if todo < PARALLEL_BYTES or workers < 2 or not sys.platform.startswith("linux"):
        for path in files:
            yield read_file(path, known.get(str(path)))
        return
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as pool:
        waiting: deque[Future] = deque()
        for path in files:
            waiting.append(pool.submit(read_file, path, known.get(str(path))))
            # A bounded window: parsed files wait in memory only while the caller stores.
            if len(waiting) >= IN_FLIGHT:
                yield waiting.popleft().result()
        while waiting:
            yield waiting.popleft().result()


# --- storing -----------------------------------------------------------------------------


def import_file(path: Path, *, project: Project | None = None) -> Stored:
    """Import what is new in one transcript, in one transaction (the hooks endpoint's way)."""
    known = TranscriptFile.objects.filter(path=str(path)).first()
    return store_files([read_file(path, known)], project)


def store_files(reads: list[FileRead], project: Project | None) -> Stored:
    """Store what the files added, all in one transaction: their sessions, requests,
    compactions, tool calls, totals and read positions. A constant number of queries for the
    batch (not per file): a first import's time was mostly round trips, file by file."""
    reads = [read for read in reads if read.chunk is not None]
    stored = Stored()
    if not reads:
        return stored
    with transaction.atomic():
        locked = TranscriptFile.objects.select_for_update().in_bulk(
            [read.known.pk for read in reads if read.known is not None]
        )
        sessions = _sessions(reads, project)
        _store_requests(reads, sessions, stored)
        _store_compactions(reads, sessions)
        pending = _store_tool_calls(reads, sessions, stored)
        stored.sessions |= {s.pk for s in sessions.values()}
        refresh_totals(stored.sessions, loaded=sessions.values())
        _save_positions(reads, locked, sessions, pending)
    return stored


def _save_positions(
    reads: list[FileRead],
    locked: dict[int, TranscriptFile],
    sessions: dict[tuple, Session],
    pending: list[dict],
) -> None:
    """Each file's read position, after its rows: they commit together or not at all."""
    new, known = [], []
    now = timezone.now()
    for read, waiting in zip(reads, pending, strict=True):
        chunk, stat, rewritten = read.chunk, read.stat, read.result.rewritten
        if read.known is not None:
            record = locked[read.known.pk]
            known.append(record)
        else:
            record = TranscriptFile(path=str(read.path))
            new.append(record)
        file_key = next(iter(chunk.sessions), None)
        if file_key in sessions and record.session_id is None:
            record.session = sessions[file_key]
        end = read.offset + read.result.bytes
        # The stat from before reading: a line appended since then changes the size.
        record.size, record.inode = stat.st_size, stat.st_ino
        # A file changed moments before it was read could change again within the clock's
        # tick with the same size ("racily clean", as git calls it): its time is not trusted
        # and the next run compares its first bytes instead.
        racy = time.time_ns() - stat.st_mtime_ns < RACY_NS
        record.mtime_ns = None if racy else stat.st_mtime_ns
        record.head_length = min(end, HEAD)
        record.head_hash = _head_hash(read.head[: record.head_length])
        record.offset = end
        record.lines_read = (read.first_line - 1) + chunk.lines
        record.bad_lines = (0 if rewritten else record.bad_lines) + chunk.bad_lines
        record.rewrites += int(rewritten)
        record.pending_tools = waiting
        record.imported_at = now
    TranscriptFile.objects.bulk_create(new)
    update_rows(TranscriptFile, known, POSITION_FIELDS)


POSITION_FIELDS = (
    "session",
    "size",
    "inode",
    "mtime_ns",
    "head_length",
    "head_hash",
    "offset",
    "lines_read",
    "bad_lines",
    "rewrites",
    "pending_tools",
    "imported_at",
)


def _sessions(reads: list[FileRead], project: Project | None) -> dict[tuple, Session]:
    """The Session of every (sessionId, agentId) the files mention, created when new; a
    subagent's session is a child of its parent's."""
    wanted: dict[tuple[str, str], SessionSeen] = {}
    # Where each session was seen first: without a cwd, its folder names its project.
    folders: dict[tuple[str, str], str] = {}
    for read in reads:
        chunk = read.chunk
        for key, seen in chunk.sessions.items():
            wanted.setdefault(key, SessionSeen()).merge(seen)
            folders.setdefault(key, read.path.parent.name)
        # Subagents known only from messages relayed to their parent: their time span is
        # theirs.
        for item in (*chunk.requests, *chunk.tool_uses, *chunk.compactions):
            key = (item.session_id, item.agent_id)
            if key not in chunk.sessions:
                wanted.setdefault(key, SessionSeen()).see({}, item.timestamp)
                folders.setdefault(key, read.path.parent.name)
    for session_id, agent_id in list(wanted):
        if agent_id and (session_id, "") not in wanted:
            # A subagent's file read before (or without) its parent's: the parent was at work
            # at least while its subagent was.
            child = wanted[(session_id, agent_id)]
            wanted[(session_id, "")] = SessionSeen(
                first=child.first, last=child.last, cwd=child.cwd, branch=child.branch
            )
            folders[(session_id, "")] = folders[(session_id, agent_id)]
    wanted = {key: seen for key, seen in wanted.items() if key[0]}
    # Known under their Claude Code ids in any project (hooks may have started them under
    # their key's project): one query for the batch, the first session of each id.
    found = _known_facts([external_id(*key) for key in wanted], project)
    result: dict[tuple[str, str], Session] = {}
    owners: dict[tuple[str, str], Project] = {}
    # Parents first, so children can point at them and share their project.
    for children in (False, True):
        keys = sorted(key for key in wanted if bool(key[1]) == children)
        missing: dict[tuple[str, str], tuple[Project, dict]] = {}
        for key in keys:
            if external_id(*key) in found:
                continue
            seen = wanted[key]
            parent = result.get((key[0], "")) if children else None
            owner = project or (parent.project if parent else None)
            if owner is None:
                where = (seen.cwd, folders[key])
                owner = owners.get(where) or project_for_cwd(*where)
                owners[where] = owner
            first = parse_time(seen.first) if seen.first else None
            missing[key] = (
                owner,
                {"parent": parent, "started_at": first or timezone.now(), "branch": seen.branch},
            )
        made = _get_or_create_sessions(missing)
        for key in keys:
            facts = found.get(external_id(*key))
            session = facts.session if facts else made[key]
            parent = result.get((key[0], "")) if children else None
            result[key] = _update_session(session, wanted[key], parent)
    _update_facts(result, wanted, found)
    return result


def _get_or_create_sessions(
    wanted: dict[tuple[str, str], tuple[Project, dict]],
) -> dict[tuple[str, str], Session]:
    """Django's `get_or_create` for many sessions: a look-up, then the missing ones inserted
    together (a session made meanwhile by a hook or another import is taken as found)."""
    by_owner: dict[Project, dict[str, tuple[str, str]]] = defaultdict(dict)
    for key, (owner, _) in wanted.items():
        by_owner[owner][external_id(*key)] = key
    result: dict[tuple[str, str], Session] = {}
    for owner, keys in by_owner.items():
        rows = Session.objects.filter(project=owner, external_id__in=list(keys))
        existing = {row.external_id: row for row in rows}
        new = []
        for external, key in sorted(keys.items()):
            if external not in existing:
                defaults = wanted[key][1]
                new.append(
                    Session(
                        project=owner,
                        external_id=external,
                        agent=AGENT,
                        parent=defaults["parent"],
                        started_at=defaults["started_at"],
                        branch=defaults["branch"][:200],
                    )
                )
        if new:
            Session.objects.bulk_create(new, ignore_conflicts=True)
            names = [session.external_id for session in new]
            made = Session.objects.filter(project=owner, external_id__in=names)
            existing.update((row.external_id, row) for row in made)
        for external, key in keys.items():
            session = existing[external]
            session.project = owner
            result[key] = session
    return result


def _update_session(session: Session, seen: SessionSeen, parent: Session | None) -> Session:
    """The session's start, branch, parent and agent brought up to what the lines say."""
    first = parse_time(seen.first) if seen.first else None
    changed = []
    if first and first < session.started_at:
        session.started_at = first
        changed.append("started_at")
    if seen.branch and session.branch != seen.branch[:200]:
        session.branch = seen.branch[:200]
        changed.append("branch")
    if parent is not None and session.parent_id is None:
        session.parent = parent
        changed.append("parent")
    if not session.agent:
        session.agent = AGENT
        changed.append("agent")
    if changed:
        session.save(update_fields=[*changed, "updated_at"])
    return session


def _update_facts(
    sessions: dict[tuple[str, str], Session],
    wanted: dict[tuple[str, str], SessionSeen],
    found: dict[str, ClaudeSession],
) -> None:
    """Claude Code's facts of each session (id, folder, version, last activity), stored new
    or changed; each session's `claude` set for refresh_totals, without a query."""
    facts_of = {facts.session_id: facts for facts in found.values()}
    unknown = [s.pk for s in sessions.values() if s.pk not in facts_of]
    if unknown:
        facts_of.update((f.session_id, f) for f in ClaudeSession.objects.filter(pk__in=unknown))
    new, changed = [], []
    for key, session in sessions.items():
        seen = wanted[key]
        facts = facts_of.get(session.pk)
        if facts is None:
            facts = facts_of[session.pk] = ClaudeSession(session=session)
            new.append(facts)
            before = None
        else:
            before = _facts_values(facts)
        last = parse_time(seen.last) if seen.last else None
        facts.claude_id = external_id(*key)
        facts.cwd = seen.cwd[:1000] or facts.cwd
        facts.version = seen.version[:50] or facts.version
        facts.agent_id = key[1] or facts.agent_id
        if last and (facts.last_activity_at is None or last > facts.last_activity_at):
            facts.last_activity_at = last
        if before is not None and _facts_values(facts) != before:
            changed.append(facts)
        session.claude = facts
    ClaudeSession.objects.bulk_create(new)
    update_rows(ClaudeSession, changed, FACT_FIELDS)


def _known_facts(claude_ids: list[str], project: Project | None) -> dict[str, ClaudeSession]:
    """The stored facts (with session and project) of each Claude Code id, the first session
    of each; in `project` only when given. The look-up is plain SQL: on a first import it
    finds nothing, and building it through the ORM cost more than Postgres took to answer."""
    if not claude_ids:
        return {}
    facts_table = connection.ops.quote_name(ClaudeSession._meta.db_table)
    # By id only, no join with sessions: a fresh table has no planner statistics yet and a
    # join was planned as a scan of every stored session's facts per session of the project.
    pks = []
    with connection.cursor() as cursor:
        for start in range(0, len(claude_ids), 500):
            condition, params = any_of(claude_ids[start : start + 500])
            cursor.execute(
                f"SELECT session_id FROM {facts_table} WHERE claude_id {condition}",  # noqa: S608
                params,
            )
            pks += [row[0] for row in cursor.fetchall()]
    found: dict[str, ClaudeSession] = {}
    if pks:
        rows = ClaudeSession.objects.filter(pk__in=pks).select_related("session__project")
        if project is not None:
            rows = rows.filter(session__project=project)
        for facts in rows.order_by("-session_id"):
            found[facts.claude_id] = facts
    return found


FACT_FIELDS = ("claude_id", "cwd", "version", "agent_id", "last_activity_at")


def _facts_values(facts: ClaudeSession) -> tuple:
    return tuple(getattr(facts, name) for name in FACT_FIELDS)


def _store_requests(reads: list[FileRead], sessions: dict[tuple, Session], result: Stored) -> None:
    """Insert new requests and raise known ones field by field (max-wins), keyed globally."""
    ledger = Ledger()
    for read in reads:
        ledger.extend(r for r in read.chunk.requests if r.session_id)
    if not ledger.requests:
        return
    # Plain SQL for this file's requests: the ORM's per-row work (instances, field
    # preparation) cost more than Postgres took to store them.
    table = connection.ops.quote_name(ApiRequest._meta.db_table)
    message_ids = sorted({m for m, _ in ledger.requests})
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    existing: dict[tuple[str, str], ApiRequest] = {}
    for start in range(0, len(message_ids), 500):
        condition, params = any_of(message_ids[start : start + 500])
        rows = ApiRequest.objects.raw(
            f"SELECT * FROM {table} WHERE message_id {condition}{lock}",  # noqa: S608
            params,
        )
        existing.update(((row.message_id, row.request_id), row) for row in rows)
    new, changed = [], []
    for key, request in ledger.requests.items():
        row = existing.get(key)
        if row is None:
            new.append(_new_request(request, sessions[(request.session_id, request.agent_id)]))
            continue
        if _raise_request(row, request):
            changed.append(row)
            result.sessions.add(row.session_id)
    insert_rows(ApiRequest, (*REQUEST_COLUMNS, *TOKEN_FIELDS), new)
    update_rows(ApiRequest, changed, (*TOKEN_FIELDS, "nested"))
    result.requests_new += len(new)
    result.requests_updated += len(changed)


REQUEST_COLUMNS = ("message_id", "request_id", "session_id", "model", "timestamp", "nested")


def _new_request(request: Request, session: Session) -> list:
    """The values of a new ApiRequest row, in REQUEST_COLUMNS then TOKEN_FIELDS order."""
    timestamp = parse_time(request.timestamp) if request.timestamp else session.started_at
    return [
        request.message_id[:100],
        request.request_id[:100],
        session.pk,
        request.model[:100],
        connection.ops.adapt_datetimefield_value(timestamp),
        request.nested,
        *(getattr(request.usage, attr) for attr in USAGE_ATTRS.values()),
    ]


def _raise_request(row: ApiRequest, request: Request) -> bool:
    changed = False
    for name, attr in USAGE_ATTRS.items():
        value = getattr(request.usage, attr)
        if value > getattr(row, name):
            setattr(row, name, value)
            changed = True
    if row.nested and not request.nested:
        row.nested = False
        changed = True
    return changed


def _store_compactions(reads: list[FileRead], sessions: dict[tuple, Session]) -> None:
    rows = [
        Compaction(
            session=sessions[(c.session_id, c.agent_id)],
            uuid=c.uuid[:100],
            timestamp=parse_time(c.timestamp),
            trigger=c.trigger[:20],
            pre_tokens=c.pre_tokens,
        )
        for read in reads
        for c in read.chunk.compactions
        if c.session_id and c.timestamp
    ]
    Compaction.objects.bulk_create(rows, ignore_conflicts=True)


def _store_tool_calls(
    reads: list[FileRead], sessions: dict[tuple, Session], result: Stored
) -> list[dict]:
    """Pair tool_use with tool_result by id (within a file) and record each pair once;
    returns each file's unpaired uses, which wait for the next run."""
    by_pk = {s.pk: s for s in sessions.values()}
    waiting_in: list[dict] = []
    paired: list[tuple[list, ToolResult]] = []
    for read in reads:
        # A copy: if the batch's transaction fails, the files are stored again one by one.
        pending = dict(read.pending)
        for use in read.chunk.tool_uses:
            if use.session_id and use.id not in pending:
                session = sessions[(use.session_id, use.agent_id)]
                pending[use.id] = [use.skill, use.timestamp, session.pk]
        for done in read.chunk.tool_results:
            waiting = pending.pop(done.tool_use_id, None)
            if waiting is not None:
                paired.append((waiting, done))
        waiting_in.append(pending)
    earlier = {pk for (_, _, pk), _ in paired if pk not in by_pk}
    by_pk.update(Session.objects.in_bulk(list(earlier)) if earlier else {})
    events: dict[int, list[InvocationEvent]] = defaultdict(list)
    for (skill, started, session_pk), done in paired:
        session = by_pk.get(session_pk)
        if session is None:
            continue
        invoked_at = parse_time(started)
        duration = None
        if done.timestamp:
            duration = max(0.0, (parse_time(done.timestamp) - invoked_at).total_seconds())
        events[session.project_id].append(
            InvocationEvent(
                key=done.tool_use_id,
                session=session.external_id,
                skill=skill[:200],
                invoked_at=invoked_at,
                completed=not done.is_error,
                duration_s=duration,
                error_type="tool_error" if done.is_error else "",
            )
        )
    for project_id, batch in events.items():
        known = {s.external_id: s for s in by_pk.values() if s.project_id == project_id}
        project = next(iter(known.values())).project
        # Unique: a subagent's call can come twice in a batch, from its own file and
        # relayed in its parent's.
        failed = sorted({e.key for e in batch if e.completed is False})
        # Only a failed call stored before (a file read again) must not count twice.
        stored_before = set(
            SkillInvocation.objects.filter(project=project, idempotency_key__in=failed).values_list(
                "idempotency_key", flat=True
            )
            if failed
            else ()
        )
        stored = record_invocations(project, batch, source="transcript", sessions=known)
        result.tool_calls += stored.accepted
        result.tool_errors += len(set(failed) - stored_before)
    return waiting_in


# --- session totals ----------------------------------------------------------------------


def _request_totals(ids: list[int]) -> tuple[dict[int, dict[str, Usage]], dict[int, int]]:
    """Per session: tokens by model, and the context of its last turn (by time, then id).

    Plain SQL: this runs for every file, and building the same two queries through the ORM
    cost more than Postgres took to answer them."""
    table = connection.ops.quote_name(ApiRequest._meta.db_table)
    sums: dict[int, dict[str, Usage]] = defaultdict(dict)
    last_context: dict[int, int] = {}
    columns = ", ".join(f"SUM({name})" for name in TOKEN_FIELDS)
    with connection.cursor() as cursor:
        for start in range(0, len(ids), 500):
            condition, params = any_of(ids[start : start + 500])
            cursor.execute(
                f"SELECT session_id, model, {columns} FROM {table} "  # noqa: S608 - names only
                f"WHERE session_id {condition} GROUP BY session_id, model",
                params,
            )
            for session_id, model, *values in cursor.fetchall():
                counts = [int(v or 0) for v in values]  # Postgres sums bigints as numeric
                usage = dict(zip(USAGE_ATTRS.values(), counts, strict=True))
                sums[session_id][model] = Usage(**usage)
            # Per session listed, its latest request through the (session, timestamp) index:
            # a join over all requests was planned as a full scan on a fresh table.
            sessions_table = connection.ops.quote_name(Session._meta.db_table)
            cursor.execute(
                "SELECT s.id, (SELECT l.input_tokens + l.cache_read_tokens "  # noqa: S608
                f"+ l.cache_creation_tokens FROM {table} l WHERE l.session_id = s.id "
                "ORDER BY l.timestamp DESC, l.id DESC LIMIT 1) "
                f"FROM {sessions_table} s WHERE s.id {condition}",
                params,
            )
            last_context.update(row for row in cursor.fetchall() if row[1] is not None)
    return sums, last_context


def refresh_totals(session_ids: Iterable[int], loaded: Iterable[Session] = ()) -> None:
    """Recompute each session's tokens, models, cost and last context from its requests, so
    the figures are exact however the requests arrived. `loaded`: sessions (with their
    `claude` facts) the caller read in this transaction, not read again."""
    ids = sorted(set(session_ids))
    if not ids:
        return
    sums, last_context = _request_totals(ids)
    idle = timedelta(minutes=getattr(settings, "CAIRN_SESSION_IDLE_MINUTES", 60))
    now = timezone.now()
    sessions = list({s.pk: s for s in loaded if s.pk in set(ids)}.values())
    missing = set(ids) - {s.pk for s in sessions}
    if missing:
        sessions += Session.objects.filter(pk__in=missing).select_related("claude")
    changed = []
    for session in sessions:
        before = {name: getattr(session, name) for name in TOTAL_FIELDS}
        by_model = sums.get(session.pk, {})
        total = Usage()
        for usage in by_model.values():
            total = total + usage
        session.input_tokens = total.input
        session.output_tokens = total.output
        session.cache_creation_tokens = total.cache_creation
        session.cache_read_tokens = total.cache_read
        session.models_used = sorted(m for m, u in by_model.items() if m and not u.is_zero)
        cost = cost_of(by_model) if by_model else None
        # Rounded here, to the micro-dollar the column keeps, so every database rounds alike.
        session.cost_usd = cost.quantize(MICRO_DOLLAR, ROUND_HALF_UP) if cost is not None else None
        session.context_tokens_last = last_context.get(session.pk)
        facts = getattr(session, "claude", None)
        activity = facts.last_activity_at if facts else None
        # A transcript has no end marker: a session quiet for longer than the idle time ended
        # with its last line (the SessionEnd hook ends it at once).
        if activity and session.status == Session.ACTIVE and now - activity > idle:
            session.status = Session.ENDED
            session.ended_at = activity
        elif activity and session.status == Session.ENDED and session.ended_at:
            session.ended_at = max(session.ended_at, activity)
        if any(getattr(session, name) != before[name] for name in TOTAL_FIELDS):
            session.updated_at = now
            changed.append(session)
    update_rows(Session, changed, (*TOTAL_FIELDS, "updated_at"))


def announce(session_ids: Iterable[int]) -> None:
    """Tell live pages that sessions still at work changed (sent once the transaction commits).
    Ended sessions, such as old transcripts, are not live news."""
    active = Session.objects.filter(pk__in=set(session_ids), status=Session.ACTIVE)
    for session in active.select_related("project"):
        broadcast.session_updated(session)


def session_figures(session_ids: Iterable[int]) -> list[dict]:
    """Each session's own figures, as `import_transcripts --json` prints them, by start time.

    A few queries for all sessions together: a run can touch thousands."""
    ids = sorted(set(session_ids))
    sessions = list(
        Session.objects.filter(pk__in=ids)
        .select_related("parent", "claude")
        .order_by("started_at", "external_id")
    )
    requests = dict(
        ApiRequest.objects.filter(session_id__in=ids)
        .order_by()
        .values_list("session_id")
        .annotate(n=Count("pk"))
    )
    tools: dict[int, dict[str, int]] = defaultdict(dict)
    errors: dict[int, int] = defaultdict(int)
    calls = (
        SkillInvocation.objects.filter(session_id__in=ids)
        .order_by()
        .values_list("session_id", "skill", "completed")
        .annotate(n=Count("pk"))
    )
    for session_id, skill, completed, n in calls:
        tools[session_id][skill] = tools[session_id].get(skill, 0) + n
        errors[session_id] += n if completed is False else 0
    result = []
    for session in sessions:
        facts = getattr(session, "claude", None)
        ended = session.ended_at or (facts.last_activity_at if facts else None)
        result.append(
            {
                "id": session.external_id,
                "parent": session.parent.external_id if session.parent_id else None,
                "requests": requests.get(session.pk, 0),
                "tokens": {
                    "input": session.input_tokens,
                    "output": session.output_tokens,
                    "cache_creation": session.cache_creation_tokens,
                    "cache_read": session.cache_read_tokens,
                },
                "tool_calls": dict(sorted(tools[session.pk].items())),
                "tool_errors": errors[session.pk],
                "cost_usd": float(session.cost_usd) if session.cost_usd is not None else None,
                "started_at": _iso(session.started_at),
                "ended_at": _iso(ended),
            }
        )
    return result


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    text = value.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


# --- many files --------------------------------------------------------------------------


def import_paths(
    paths: Iterable[Path],
    *,
    project: Project | None = None,
    since: datetime | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int, Path], None] | None = None,
) -> ImportResult:
    """Import every transcript under `paths`. With `dry_run` everything is rolled back."""
    files = find_transcripts(paths, since=since)
    if not dry_run:
        return _import_all(files, project, progress)
    with transaction.atomic():
        total = _import_all(files, project, progress)
        transaction.set_rollback(True)
    return total


def _analyze() -> None:
    """Fresh planner statistics for the tables an import fills (Postgres, outside a
    transaction). A first import into new tables otherwise runs on "nearly empty" estimates
    and each file's look-ups scan every row stored so far; autovacuum catches up only later."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    tables = (ApiRequest, ClaudeSession, Session, SkillInvocation)
    names = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in tables)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {names}")
    except DatabaseError as exc:  # not the tables' owner: the import goes on, only slower
        log.info("ANALYZE skipped: %s", exc)


@contextmanager
def few_collections() -> Iterator[None]:
    """Python's cyclic garbage collector made rare for a batch import, then as before.

    An import makes hundreds of thousands of short-lived objects (records, model instances)
    and the collector kept walking the whole of Django's long-lived ones: 12 % of a first
    import's time. `freeze` sets those aside; the higher threshold collects rarely, so memory
    stays bounded (unlike switching collection off). For a process of its own (the command):
    the setting is process-wide."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


@contextmanager
def _commits_without_waiting() -> Iterator[None]:
    """On Postgres, a batch's commit does not wait for the disk while importing.

    Losing the last instant of an import to a crash costs nothing: a file's offset commits
    with its rows, so the next run reads those lines again. Set for the connection once (not
    per batch: a query each) and reset afterwards, as the connection may serve other work.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


def _import_all(
    files: list[Path], project: Project | None, progress: Callable | None
) -> ImportResult:
    total = ImportResult()
    known: dict[str, TranscriptFile] = {}
    names = [str(path) for path in files]
    for start in range(0, len(names), 500):
        rows = TranscriptFile.objects.filter(path__in=names[start : start + 500])
        known.update((row.path, row) for row in rows)
    analyzed_at = ANALYZE_AFTER
    batch: list[FileRead] = []
    size = 0
    with _commits_without_waiting():
        for index, read in enumerate(read_files(files, known)):
            if progress:
                progress(index, len(files), read.path)
            total.add(read.result)
            if read.chunk is not None:
                batch.append(read)
                size += read.result.bytes
            if size >= BATCH_BYTES or index == len(files) - 1:
                total.add_stored(_store_batch(batch, project))
                batch, size = [], 0
                if total.requests_new >= analyzed_at:
                    _analyze()
                    analyzed_at *= 2
    if progress:
        progress(len(files), len(files), None)
    announce(total.sessions)
    total.figures = session_figures(total.sessions)
    return total


def _store_batch(reads: list[FileRead], project: Project | None) -> Stored:
    """Store a batch of files in one transaction; if the database refuses it, file by file,
    so that the files before the refused one are stored and the error names it."""
    try:
        return store_files(reads, project)
    except DatabaseError as exc:
        if len(reads) == 1:
            message = f"{reads[0].path}: not imported, nothing of it stored ({exc})"
            raise ImportFailed(message) from exc
    stored = Stored()
    for read in reads:
        stored.add_stored(_store_batch([read], project))
    return stored
