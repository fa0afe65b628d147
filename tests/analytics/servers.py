"""Real server processes for the live tests: Daphne and the ticker, on the test database."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis
from django.conf import settings
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

ROOT = Path(__file__).resolve().parents[2]


# What a test server's /metrics wants in `Authorization: Bearer …`.
METRICS_TOKEN = "test-metrics-token-0123456789"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Run in the embedded server's database: a member with a password, and a write key.
EMBEDDED_SETUP = """
from django.contrib.auth.models import User
from tracking.models import Project
user = User.objects.create_user("alice", "alice@example.org", "password-alice")
project = Project.objects.create(name="Alpha", slug="alpha")
project.members.add(user)
print(project.create_api_key(scope="write")[1])
"""


def embedded(var: Path, **extra: str) -> tuple[dict[str, str], str]:
    """Environment and write key for a server on the embedded defaults (a SQLite file under
    `var`, in-memory layer, ticker inside the ASGI process), migrated and with project alpha."""
    env = server_env(
        DATABASE_URL=f"sqlite:///{var / 'cairn.sqlite3'}",
        REDIS_URL="",
        CAIRN_VAR_DIR=str(var),
        LIVE_TICK_SECONDS="0.2",
        **extra,
    )
    manage = [sys.executable, "manage.py"]
    run: dict[str, Any] = {"cwd": ROOT, "env": env, "check": True, "timeout": 60}
    subprocess.run([*manage, "migrate", "-v0"], **run)  # noqa: S603
    shell = subprocess.run(  # noqa: S603
        [*manage, "shell", "-c", EMBEDDED_SETUP], capture_output=True, text=True, **run
    )
    return env, shell.stdout.strip().splitlines()[-1]


def database_url() -> str | None:
    """The test database as a URL for a subprocess; None unless it is Postgres."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        return None
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def server_env(**extra: str) -> dict[str, str]:
    """The environment of a server process a test starts: its /metrics wants METRICS_TOKEN."""
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="config.settings",
        PYTHONUNBUFFERED="1",
        METRICS_TOKEN=METRICS_TOKEN,
    )
    env.update(extra)
    return env


class Process:
    """A child process started here and stopped by its pid."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path):
        self.log = log
        self.popen = subprocess.Popen(  # noqa: S603 - fixed argument list
            args, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def kill(self) -> None:
        """SIGKILL: the process dies as in a crash, with no shutdown of its own."""
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=5)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)


def daphne(port: int, env: dict[str, str], log: Path) -> Process:
    args = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
    return Process([*args, "config.asgi:application"], env, log)


@contextmanager
def embedded_daphne(var: Path, **extra: str) -> Iterator[dict[str, Any]]:
    """A Daphne on the embedded defaults in `var`, serving: {"port", "url", "key", "process"};
    stopped on leaving."""
    env, key = embedded(var, **extra)
    port = free_port()
    process = daphne(port, env, var / "daphne.log")
    try:
        wait_until_serving(port, process)
        yield {"port": port, "url": f"http://127.0.0.1:{port}", "key": key, "process": process}
    finally:
        process.stop()


def live_broadcast(env: dict[str, str], log: Path) -> Process:
    return Process([sys.executable, "manage.py", "live_broadcast"], env, log)


class RedisServer:
    """A throwaway redis-server on its own port, started and stopped (or killed) by the test;
    nothing is saved, so a restart comes back empty as after a crash."""

    def __init__(self, port: int, var: Path) -> None:
        self.port, self.var = port, var
        self.process: Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--dir", str(self.var)]
        self.process = Process(args, dict(os.environ), self.var / f"redis-{time.time_ns()}.log")
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
            finally:
                client.close()

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()


def metrics(port: int) -> dict[str, float]:
    """A server's unlabelled Prometheus samples (name → value) from its /metrics."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local server
        text = response.read().decode()
    samples = (line.split(" ") for line in text.splitlines() if line and line[0] != "#")
    return {sample[0]: float(sample[1]) for sample in samples if len(sample) == 2}


def wait_until_serving(port: int, process: Process, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"server exited: {process.log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):  # noqa: S310
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server on {port} did not answer: {process.log.read_text()[-2000:]}")


def live(port: int, key: str, compression: str | None = None) -> ClientConnection:
    """A /ws/live/ client with an API key; `compression="deflate"` offers it as browsers do."""
    return connect(
        f"ws://127.0.0.1:{port}/ws/live/",
        origin=Origin(f"http://127.0.0.1:{port}"),
        additional_headers={"Authorization": f"Bearer {key}"},
        compression=compression,
        open_timeout=10,
    )


def frames(ws: ClientConnection, kind: str, count: int, timeout: float = 10.0) -> list[dict]:
    """The next `count` frames of a type, skipping others."""
    found: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(found) < count:
        frame = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        if frame["type"] == kind:
            found.append(frame)
    return found
