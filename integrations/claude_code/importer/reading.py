"""Reading transcripts: what each file added since it was last read, parsed. No database
access here, so that worker processes can do it."""

from __future__ import annotations

import ctypes
import hashlib
import multiprocessing as mp
import os
import signal
import stat as stat_mode
import sys
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from integrations.claude_code.importer import tuning
from integrations.claude_code.importer.results import FileResult
from integrations.claude_code.transcript import Chunk, agent_id_from_path, read_chunk, split_lines
from integrations.models import TranscriptFile

# Bytes at the start of a file whose hash tells a rewritten file from an appended one.
HEAD = 4096

# A file's tool_use ids still waiting for their result, each with [skill, timestamp, session
# pk], and for an edit tool [tool, extension, is_test] (`tool_calls._pending_entry`): kept as
# JSON in TranscriptFile.pending_tools.
PendingTools = dict[str, list[Any]]


def head_hash(data: bytes) -> str:
    """The hash of a file's first bytes, as TranscriptFile.head_hash keeps it."""
    return hashlib.sha256(data).hexdigest()


@dataclass
class NewLines:
    """What one transcript added since it was last read: parsed, not yet stored, with what
    storing needs to move the file's read position."""

    path: Path
    # Its TranscriptFile; None: never read.
    known: TranscriptFile | None
    result: FileResult
    chunk: Chunk
    # The stat from before reading, and the file's first bytes.
    stat: os.stat_result
    head: bytes
    # Where this read started: byte offset, and the number of its first line.
    offset: int
    first_line: int
    pending: PendingTools = field(default_factory=dict)


@dataclass
class FileRead:
    """What reading one transcript found."""

    path: Path
    result: FileResult
    # None: nothing new (untouched since read, or no new bytes): nothing to store.
    new: NewLines | None = None


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
    never read). No database access: storing is `storing.store_files`.

    A file that cannot be read (no permission, gone since it was found, an I/O error) is
    returned with `result.unreadable` set and nothing to store: its read position stays, so
    a later run reads it once it can."""
    try:
        return _read_file(path, known)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        result = FileResult(path=str(path), unreadable=reason)
        result.warnings.append(f"{path}: not read, {reason}")
        return FileRead(path=path, result=result)


def _read_file(path: Path, known: TranscriptFile | None) -> FileRead:
    """`read_file`, raising OSError when the file cannot be read."""
    result = FileResult(path=str(path))
    read = FileRead(path=path, result=result)
    stat = path.stat()
    if _untouched(known, stat):
        return read
    with path.open("rb") as handle:
        head = handle.read(HEAD)
        offset, first_line, pending = 0, 1, {}
        if known is not None:
            same_head = head_hash(head[: known.head_length]) == known.head_hash
            if stat.st_size < known.offset or not same_head:
                result.rewritten = True
                result.warnings.append(f"{path}: rewritten or truncated, reading it again")
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
    result.bytes, result.lines, result.bad_lines = consumed + skip, chunk.lines, chunk.bad_lines
    for number, problem in chunk.problems:
        result.warnings.append(f"{path}:{number}: skipped, {problem}")
    read.new = NewLines(
        path=path,
        known=known,
        result=result,
        chunk=chunk,
        stat=stat,
        head=head,
        offset=offset,
        first_line=first_line,
        pending=pending,
    )
    return read


def read_files(files: list[Path], known: dict[str, TranscriptFile]) -> Iterator[FileRead]:
    """`read_file` of each file, in order. With much to read, by worker processes (one per
    core), while the caller stores what they read before: parsing is most of the import's
    Python work and one core would leave the others idle."""
    todo = 0
    for path in files:
        try:
            record, stat = known.get(str(path)), path.stat()
        except OSError:  # gone since it was found: `read_file` says so
            continue
        if not _untouched(record, stat):
            todo += stat.st_size - (record.offset if record else 0)
    workers = min(os.cpu_count() or 1, tuning.MAX_WORKERS)
    # Forked workers start at once, with everything imported. Only on Linux: on macOS a
    # forked child of a process with threads may crash, and a new interpreter per worker
    # (the other way to start one) costs more than it saves here.
    if todo < tuning.PARALLEL_BYTES or workers < 2 or not sys.platform.startswith("linux"):
        for path in files:
            yield read_file(path, known.get(str(path)))
        return
    pool = ProcessPoolExecutor(
        workers,
        mp_context=mp.get_context("fork"),
        initializer=start_worker,
        initargs=(os.getpid(),),
    )
    with pool:
        waiting: deque[Future[FileRead]] = deque()
        for path in files:
            waiting.append(pool.submit(read_file, path, known.get(str(path))))
            # A bounded window: parsed files wait in memory only while the caller stores.
            if len(waiting) >= tuning.IN_FLIGHT:
                yield waiting.popleft().result()
        while waiting:
            yield waiting.popleft().result()


# prctl(2) option: the signal a process gets when the thread that forked it dies.
PR_SET_PDEATHSIG = 1


def start_worker(parent: int) -> None:
    """Set up a forked reading worker (Linux only, as workers are): it dies with its parent
    and holds none of its parent's connections.

    A worker blocks waiting for work on a pipe whose writing end it inherited itself, so it
    would never see its parent go: killed (SIGKILL, the OOM killer), the parent would leave
    its workers behind, re-parented to init. Worse, they would hold the parent's Postgres
    socket open, so the server would not see the parent go either: its transaction would
    stay "idle in transaction" with its locks, and the next import would wait on them.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    # The parent may have died between the fork and the prctl: then no signal would come.
    if os.getppid() != parent:
        os._exit(1)
    drop_inherited_sockets()


def drop_inherited_sockets() -> None:
    """Point every socket this process inherited at /dev/null, in place (dup2).

    A reading worker needs no connection, and a database connection must not be closed
    here: libpq's close (PQfinish, also on garbage collection) would send "terminate" over
    the parent's socket and end the parent's session, and Django's `connections.close_all()`
    would do just that. Pointing the descriptor elsewhere drops this process's hold on the
    socket without a byte sent; the inherited connection objects stay as they are, and any
    use of them (a bug: workers do not touch the database) fails at once instead of talking
    on the parent's session.
    """
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            if fd == devnull:
                continue
            try:
                is_socket = stat_mode.S_ISSOCK(os.fstat(fd).st_mode)
            except OSError:  # the listing's own descriptor, closed by now
                continue
            if is_socket:
                os.dup2(devnull, fd)
    finally:
        os.close(devnull)
