#!/usr/bin/env python
"""Live WebSocket benchmark: real Daphne process(es), the real ticker, `manage.py loadtest`.

Creates (once) a benchmark project with a read key and a day of skill events (12 skills, 20
sessions, so frames carry a full top-10 and session list), starts --servers Daphne processes on
free ports — one on the embedded defaults (in-memory layer, ticker inside Daphne), or with
--redis several behind `manage.py live_broadcast` — and runs the load test against them with
the servers' pids, then stops what it started. Raise `ulimit -n` first for thousands of clients.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cairn_bench \\
        .venv/bin/python scripts/bench_live.py --clients 5000 --seconds 30
    DATABASE_URL=… REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python scripts/bench_live.py --redis --servers 2 --clients 5000 --seconds 30
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
SKILLS = ["pytest", "ruff", "mypy", "git-commit", "edit", "read", "grep", "bash", "write"]
SKILLS += ["web-fetch", "todo", "task"]


def bench_key() -> str:
    """A read key of the benchmark project, seeding the project on first use."""
    import django

    django.setup()
    from tracking.ingest import InvocationEvent, record_invocations
    from tracking.models import Project

    project, created = Project.objects.get_or_create(slug="live-bench", defaults={"name": "Bench"})
    if created:
        now, rng = datetime.now(UTC), random.Random(1)
        events = [
            InvocationEvent(
                key=uuid.uuid4().hex,
                session=f"s-{rng.randrange(20)}",
                skill=rng.choice(SKILLS),
                invoked_at=now - timedelta(minutes=rng.randrange(0, 1400)),
                completed=rng.random() < 0.9,
                duration_s=rng.random() * 5,
            )
            for _ in range(3000)
        ]
        record_invocations(project, events, source="api")
    return project.create_api_key(scope="read", name="bench_live")[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_serving(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):  # noqa: S310
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"Daphne on port {port} did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--servers", type=int, default=1)
    parser.add_argument("--redis", action="store_true", help="REDIS_URL layer + live_broadcast")
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--tick", type=float, default=1.0, help="LIVE_TICK_SECONDS")
    parser.add_argument("--client-processes", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.servers > 1 and not args.redis:
        raise SystemExit("several servers need --redis (the in-memory layer is per process)")
    if args.redis and not os.environ.get("REDIS_URL"):
        raise SystemExit("--redis needs REDIS_URL")
    key = bench_key()
    env = dict(os.environ, LIVE_TICK_SECONDS=str(args.tick), PYTHONUNBUFFERED="1")
    if not args.redis:
        env.pop("REDIS_URL", None)
    logs = Path(tempfile.gettempdir())
    ports = [free_port() for _ in range(args.servers)]
    started: list[subprocess.Popen] = []
    try:
        for port in ports:
            command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
            log = (logs / f"bench_live_daphne_{port}.log").open("w")
            started.append(
                subprocess.Popen(  # noqa: S603
                    [*command, "config.asgi:application"], cwd=ROOT, env=env, stdout=log, stderr=log
                )
            )
        for port, process in zip(ports, started, strict=True):
            wait_serving(port, process)
        servers = [p.pid for p in started]
        if args.redis:
            log = (logs / "bench_live_ticker.log").open("w")
            started.append(
                subprocess.Popen(  # noqa: S603
                    [sys.executable, "manage.py", "live_broadcast"], cwd=ROOT, env=env, stdout=log
                )
            )
        loadtest = [sys.executable, "manage.py", "loadtest", "--token", key]
        loadtest += [f"--url=ws://127.0.0.1:{port}/ws/live/" for port in ports]
        loadtest += [f"--server-pid={pid}" for pid in servers]
        loadtest += ["--clients", str(args.clients), "--duration", str(args.seconds)]
        loadtest += ["--processes", str(args.client_processes)] + (["--json"] if args.json else [])
        print(" ".join(loadtest[1:]).replace(key, "KEY"), file=sys.stderr)
        subprocess.run(loadtest, cwd=ROOT, env=env, check=True)  # noqa: S603
    finally:
        for process in started:
            process.send_signal(signal.SIGTERM)
        for process in started:
            process.wait(timeout=15)


if __name__ == "__main__":
    main()
