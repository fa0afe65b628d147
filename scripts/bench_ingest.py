#!/usr/bin/env python
"""Ingest benchmark: events pushed through the real HTTP API (Daphne + the configured database).

Starts its own Daphne process(es) on free ports, creates a benchmark project and key, then sends
batches of --batch events from --clients concurrent client processes for --seconds, and prints
events/s and request latency percentiles. Afterwards it checks that the hourly rollups equal a
recount from the event log. Run it against Postgres:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cairn_bench \
        .venv/bin/python scripts/bench_ingest.py
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import multiprocessing.queues
import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from lib.stats import percentile  # noqa: E402 (after the path insert)

SKILLS = ["pytest", "ruff", "mypy", "git", "Read", "Edit", "Bash", "Grep", "WebFetch", "Task"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"Daphne on port {port} did not answer /healthz in {timeout} s")


def make_batch(worker: int, number: int, size: int, start: datetime) -> bytes:
    events = []
    for i in range(size):
        n = number * size + i
        events.append(
            {
                "id": f"w{worker}-b{number}-{i}",
                "session": f"bench-{worker}-{n // 200}",
                "skill": SKILLS[n % len(SKILLS)],
                "invoked_at": (start + timedelta(seconds=n % 86400)).isoformat(),
                "completed": None if n % 17 == 0 else n % 9 != 0,
                "duration_s": round((n % 300) / 10, 1),
                "phase": "bench",
            }
        )
    return json.dumps({"events": events}).encode()


def client(worker: int, ports: list[int], key: str, size: int, seconds: float, out) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=worker)
    port = ports[worker % len(ports)]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    latencies, accepted, failures = [], 0, 0
    deadline = time.monotonic() + seconds
    number = 0
    while time.monotonic() < deadline:
        body = make_batch(worker, number, size, start)
        number += 1
        t0 = time.perf_counter()
        conn.request("POST", "/api/v1/ingest/invocations", body=body, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        latencies.append(time.perf_counter() - t0)
        if response.status == 200:
            accepted += json.loads(payload)["accepted"]
        else:
            failures += 1
    out.put((latencies, accepted, failures))


def check_rollups(slug: str) -> str:
    """Compare the rollups with a recount from the event log (which the pages never scan)."""
    from django.db.models import Count, Q
    from django.db.models.functions import TruncHour

    from tracking.models import SkillHourly, SkillInvocation

    events = SkillInvocation.objects.filter(project__slug=slug)
    recount = {
        (r["skill"], r["hour"]): (r["n"], r["ok"], r["bad"])
        for r in events.annotate(hour=TruncHour("invoked_at"))
        .values("skill", "hour")
        .annotate(
            n=Count("id"),
            ok=Count("id", filter=Q(completed=True)),
            bad=Count("id", filter=Q(completed=False)),
        )
    }
    rollup = {
        (r.skill, r.hour): (r.invocations, r.completed, r.failed)
        for r in SkillHourly.objects.filter(project__slug=slug)
    }
    if recount == rollup:
        return f"exact ({len(rollup)} skill-hours, {events.count()} events)"
    return f"MISMATCH: {len(recount)} recounted vs {len(rollup)} rolled-up skill-hours"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--servers", type=int, default=2, help="Daphne processes")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command

    from tracking.models import Project

    call_command("migrate", verbosity=0)
    slug = f"bench-{uuid.uuid4().hex[:8]}"
    project = Project.objects.create(name=f"Ingest benchmark {slug}", slug=slug)
    _, key = project.create_api_key(name="benchmark")

    ports = [free_port() for _ in range(args.servers)]
    servers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "config.asgi:application",
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        for port in ports:
            wait_for(port)
        out: multiprocessing.queues.Queue = multiprocessing.Queue()
        workers = [
            multiprocessing.Process(
                target=client, args=(w, ports, key, args.batch, args.seconds, out)
            )
            for w in range(args.clients)
        ]
        t0 = time.perf_counter()
        for w in workers:
            w.start()
        results = [out.get() for _ in workers]
        elapsed = time.perf_counter() - t0
        for w in workers:
            w.join()
    finally:
        for server in servers:
            server.terminate()
            server.wait(10)

    ordered = sorted(lat for r in results for lat in r[0])
    accepted = sum(r[1] for r in results)
    failures = sum(r[2] for r in results)
    engine = django.db.connection.vendor
    print(f"database: {engine}; Daphne processes: {args.servers}; client processes: {args.clients}")
    print(f"batches: {len(ordered)} of {args.batch} events, failed requests: {failures}")
    print(f"events accepted: {accepted} in {elapsed:.1f} s = {accepted / elapsed:,.0f} events/s")
    print(
        f"request latency: p50 {percentile(ordered, 50) * 1000:.0f} ms, "
        f"p99 {percentile(ordered, 99) * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms"
    )
    print(f"rollups after the run: {check_rollups(slug)}")


if __name__ == "__main__":
    main()
