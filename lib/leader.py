"""One leader among the copies of a singleton process, by a Postgres advisory lock.

`live_broadcast` and `analytics_worker` may run on every machine: each copy calls `lead(name)`
before its work. The first to take the lock leads; the others wait, say so in the log and try
again every `POLL_SECONDS`. The lock is a session-level advisory lock held on a connection of its
own (never one of Django's pooled connections, which would hand the lock to whatever borrows
them next), so it goes when that connection does: when the leader exits, is killed, or its
machine loses the network, Postgres ends the session and a waiting copy takes over at its next
poll.

While leading, a thread checks the lock's connection every `POLL_SECONDS`. If the connection is
lost, another copy may already lead, so this one stops at once with `EXIT_LOST` (the service
manager restarts it, and it waits its turn again).

On SQLite (the embedded default, one machine) there is nothing to lock: `lead` logs that and
returns, so only one copy must run there.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from typing import Any

from django.db import connections

log = logging.getLogger(__name__)

# Seconds between two tries of a waiting copy, and between two checks of the leader's
# connection: a dead leader is replaced within this (plus Postgres noticing the closed socket,
# immediate for a process that died; up to the TCP keepalive below for a vanished machine).
POLL_SECONDS = 2.0
# The process's exit status when it lost the lock's connection while leading.
EXIT_LOST = 3
# A leader whose machine vanished (no FIN) holds the lock until Postgres notices the dead TCP
# peer: idle 5 s, then 3 probes 1 s apart.
_KEEPALIVE: dict[str, Any] = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 1,
    "keepalives_count": 3,
}
# Every advisory lock key of Cairn's singletons is in this class (the first of the two 32-bit
# keys), so they cannot meet another application's locks on a shared server.
_LOCK_CLASS = 0x43414952  # "CAIR"


def lock_key(name: str) -> int:
    """The second 32-bit key of `name`'s lock: a stable CRC-32 of the name, as a signed int."""
    crc = zlib.crc32(name.encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def identity(name: str) -> str:
    """Who this copy is, as it shows in `pg_stat_activity.application_name` (max 63 bytes)."""
    return f"cairn {name} {socket.gethostname()}:{os.getpid()}"[:63]


def _connect(name: str) -> Any:
    import psycopg

    params = connections["default"].get_connection_params()
    for django_only in ("cursor_factory", "context"):
        params.pop(django_only, None)
    return psycopg.connect(**params, **_KEEPALIVE, autocommit=True, application_name=identity(name))


def _holder(conn: Any, key: int) -> str:
    """The application name of the session holding the lock, or "unknown"."""
    row = conn.execute(
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s::oid "
        "AND l.objid = %s::oid AND l.objsubid = 2",
        [_LOCK_CLASS, key & 0xFFFFFFFF],
    ).fetchone()
    return row[0] if row and row[0] else "unknown"


def _acquire(name: str, poll: float, stop: threading.Event | None) -> Any:
    """The lock's connection once this copy holds the lock; None if `stop` was set first."""
    key = lock_key(name)
    waiting_since: float | None = None
    conn = None
    while stop is None or not stop.is_set():
        try:
            if conn is None or conn.closed:
                conn = _connect(name)
            got = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_CLASS, key])
            if got.fetchone()[0]:
                if waiting_since is not None:
                    waited = time.monotonic() - waiting_since
                    log.warning("%s: took over as leader after %.1f s", name, waited)
                else:
                    log.info("%s: leading (advisory lock %s)", name, key)
                return conn
            if waiting_since is None:
                waiting_since = time.monotonic()
                log.warning(
                    "%s: waiting: another copy leads (%s); trying again every %.3g s",
                    name,
                    _holder(conn, key),
                    poll,
                )
        except Exception as error:  # noqa: BLE001 - any database error: retry, as a waiter would
            log.warning("%s: cannot reach the database for the leader lock: %s", name, error)
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()
            conn = None
            waiting_since = waiting_since or time.monotonic()
        if stop is not None:
            stop.wait(poll)
        else:
            time.sleep(poll)
    if conn is not None:
        conn.close()
    return None


def _lost(name: str) -> None:
    log.error("%s: lost the leader lock's connection; exiting (status %s)", name, EXIT_LOST)
    logging.shutdown()
    os._exit(EXIT_LOST)


def _watch(name: str, conn: Any, poll: float, done: threading.Event, on_lost: Callable) -> None:
    while not done.wait(poll):
        try:
            conn.execute("SELECT 1")
        except Exception:  # noqa: BLE001 - whatever broke the connection broke the lock
            if not done.is_set():
                on_lost(name)
            return


@contextlib.contextmanager
def lead(
    name: str,
    *,
    stop: threading.Event | None = None,
    poll: float = POLL_SECONDS,
    on_lost: Callable[[str], None] = _lost,
) -> Iterator[bool]:
    """Hold `name`'s leader lock for the `with` block; wait for it first.

    Yields True once leading, False when `stop` was set while waiting (the block should then
    return at once). Without Postgres it yields True at once and logs that nothing is locked.
    """
    if connections["default"].vendor != "postgresql":
        log.info("%s: not on Postgres: no leader lock, so run only one copy", name)
        yield True
        return
    conn = _acquire(name, poll, stop)
    if conn is None:
        yield False
        return
    done = threading.Event()
    watcher = threading.Thread(
        target=_watch, args=(name, conn, poll, done, on_lost), name=f"{name}-leader", daemon=True
    )
    watcher.start()
    try:
        yield True
    finally:
        done.set()
        watcher.join(timeout=poll + 5)
        # Closing the session releases the lock.
        with contextlib.suppress(Exception):
            conn.close()


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT, so a waiting copy stops when its service does."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    return stop
