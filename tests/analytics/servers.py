"""Real server processes for the live tests: Daphne and the ticker, on the test database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url() -> str | None:
    """The test database as a URL for a subprocess; None unless it is Postgres."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        return None
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def server_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings", PYTHONUNBUFFERED="1")
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


def live_broadcast(env: dict[str, str], log: Path) -> Process:
    return Process([sys.executable, "manage.py", "live_broadcast"], env, log)


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
