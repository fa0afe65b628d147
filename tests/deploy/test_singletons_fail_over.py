"""Two copies of each singleton on Postgres and Redis: one leads, the other waits and takes over
within 10 s of the leader's SIGKILL (lib/leader.py). Frames arrive once per tick; no hour is
evaluated by two workers.

Needs Postgres and Redis shared with the processes the tests start.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import redis
from django.conf import settings

from analytics.models import SkillAnomaly
from lib.hours import floor_hour
from tests.analytics import servers
from tests.analytics.anomaly_data import hour_of, perfect_baseline
from tests.analytics.servers import Process, frames, live

pytestmark = pytest.mark.django_db(transaction=True)
TICK = 0.2
TAKEOVER_LIMIT = 10.0


@pytest.fixture
def shared_env(tmp_path):
    database = servers.database_url()
    if database is None or not settings.REDIS_URL:
        pytest.skip("needs Postgres (DATABASE_URL) and Redis (REDIS_URL) shared with servers")
    redis.Redis.from_url(settings.REDIS_URL).delete("cairn:live:views")
    return servers.server_env(
        DATABASE_URL=database, REDIS_URL=settings.REDIS_URL, LIVE_TICK_SECONDS=str(TICK)
    )


def wait_for_log(process: Process, pattern: str, timeout: float = 40.0) -> float:
    """Wait until the process's log matches; the monotonic time it was seen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if re.search(pattern, process.log.read_text()):
            return time.monotonic()
        if process.popen.poll() is not None:
            raise AssertionError(f"exited {process.popen.returncode}: {process.log.read_text()}")
        time.sleep(0.05)
    raise AssertionError(f"{pattern!r} not in log: {process.log.read_text()[-3000:]}")


def leader_and_follower(copies: list[Process], name: str) -> tuple[Process, Process]:
    """Which copy leads: one says it leads, the other that it waits (both started by then: a
    Django process takes tens of seconds to start on a loaded machine)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        logs = [copy.log.read_text() for copy in copies]
        leading = [f"{name}: leading" in log for log in logs]
        waiting = [f"{name}: waiting: another copy leads (cairn {name}" in log for log in logs]
        if sum(leading) == 1 and sum(waiting) == 1:
            leader = copies[leading.index(True)]
            assert waiting.index(True) != leading.index(True)
            return leader, copies[waiting.index(True)]
        time.sleep(0.05)
    raise AssertionError(f"no single leader: {logs}")


def consecutive_ticks(ws, count: int) -> list[int]:
    """The seq of the next `count` metrics_update frames."""
    return [frame["seq"] for frame in frames(ws, "metrics_update", count)]


def manage(*args: str) -> list[str]:
    return [sys.executable, "manage.py", *args]


def test_two_broadcasters_send_one_frame_a_tick_and_the_second_takes_over(
    shared_env, tmp_path, read_key
):
    port = servers.free_port()
    server = servers.daphne(port, shared_env, tmp_path / "daphne.log")
    copies = [
        Process(manage("live_broadcast"), shared_env, tmp_path / f"broadcast-{i}.log")
        for i in range(2)
    ]
    try:
        servers.wait_until_serving(port, server)
        leader, follower = leader_and_follower(copies, "live_broadcast")
        with live(port, read_key) as ws:
            frames(ws, "metrics_update", 1)
            started = time.monotonic()
            seqs = consecutive_ticks(ws, 10)
            elapsed = time.monotonic() - started
            # One ticker: each seq once, in order; two would interleave two counters, twice
            # as fast.
            assert seqs == list(range(seqs[0], seqs[0] + 10))
            assert elapsed > 8 * TICK
            leader.kill()
            killed = time.monotonic()
            first = frames(ws, "metrics_update", 1, timeout=TAKEOVER_LIMIT + 5)[0]
            assert time.monotonic() - killed < TAKEOVER_LIMIT
            after = consecutive_ticks(ws, 5)
            assert after == list(range(first["seq"] + 1, first["seq"] + 6))
        assert "live_broadcast: took over as leader after" in follower.log.read_text()
    finally:
        for process in [*copies, server]:
            process.kill()


def test_two_workers_evaluate_each_hour_once_and_the_second_takes_over(
    shared_env, tmp_path, project
):
    now = datetime.now(UTC)
    if now - floor_hour(now) > timedelta(minutes=59):
        time.sleep(61)  # the run must not straddle an hour: it would evaluate two hours
        now = datetime.now(UTC)
    hour = floor_hour(now)
    # A perfect baseline at hours of day the window's is not, then a 6-in-10 hour just closed.
    perfect_baseline(project, start=hour - timedelta(hours=54))
    hour_of(project, hour - timedelta(hours=1), 6, 10)
    copies = [
        Process(
            manage("analytics_worker", "--interval-minutes", "60"),
            shared_env,
            tmp_path / f"worker-{i}.log",
        )
        for i in range(2)
    ]
    run_line = r"analytics_worker: anomalies \(\S+ s\): at \S+: 1 projects, \d+ tests, (\d+) opened"
    try:
        leader, follower = leader_and_follower(copies, "analytics_worker")
        wait_for_log(leader, run_line)
        time.sleep(4 * 2.0)  # two polls of the follower's: it still has not run
        assert not re.search(run_line, follower.log.read_text())
        [anomaly] = SkillAnomaly.objects.all()
        kind = (anomaly.skill, anomaly.metric, anomaly.evaluations)
        assert kind == ("ruff", "completion_rate", 1)
        leader.kill()
        killed = time.monotonic()
        taken = wait_for_log(follower, r"analytics_worker: took over as leader", TAKEOVER_LIMIT)
        assert taken - killed < TAKEOVER_LIMIT
        wait_for_log(follower, run_line)
        # The new leader evaluated the same hour: the anomaly is left as it was.
        assert re.findall(run_line, follower.log.read_text()) == ["0"]
        [again] = SkillAnomaly.objects.all()
        assert (again.pk, again.evaluations, again.last_evaluated_at) == (
            anomaly.pk,
            1,
            anomaly.last_evaluated_at,
        )
    finally:
        for process in copies:
            process.kill()


def test_a_leader_that_loses_its_lock_connection_exits_and_the_other_leads(shared_env, tmp_path):
    copies = [
        Process(manage("live_broadcast"), shared_env, tmp_path / f"broadcast-{i}.log")
        for i in range(2)
    ]
    try:
        leader, follower = leader_and_follower(copies, "live_broadcast")
        # Postgres ends the leader's lock session (a restart or a network cut does the same).
        with psycopg.connect(str(servers.database_url()), autocommit=True) as admin:
            ended = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s",
                [f"cairn live_broadcast {socket.gethostname()}:{leader.pid}"],
            ).fetchall()
        assert ended == [(True,)]
        assert leader.popen.wait(timeout=10) == 3
        assert "lost the leader lock's connection" in leader.log.read_text()
        wait_for_log(follower, r"live_broadcast: took over as leader", TAKEOVER_LIMIT)
    finally:
        for process in copies:
            process.kill()


def test_without_postgres_it_leads_at_once_and_says_nothing_is_locked(tmp_path: Path):
    database = f"sqlite:///{tmp_path / 'cairn.sqlite3'}"
    env = servers.server_env(DATABASE_URL=database, REDIS_URL="", CAIRN_VAR_DIR=str(tmp_path))

    done = subprocess.run(  # noqa: S603 - fixed argument list
        manage("live_broadcast", "--ticks", "2", "--interval", "0.05"),
        cwd=servers.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "live_broadcast: not on Postgres: no leader lock, so run only one copy" in done.stderr
    assert "live_broadcast: stopped" in done.stdout
