#!/usr/bin/env python
"""OTLP log throughput: Claude Code events through POST /otlp/v1/logs into the database.

Starts its own Daphne process(es) (--servers) on free ports, creates a benchmark project and
write key, then sends --exports protobuf exports of --records events each (tool results, API
requests, prompts and edit decisions over --sessions sessions per client: one CLI exports its
own sessions) from --clients concurrent client processes, and prints log records/s and request
latency percentiles. The bodies are built before the clock starts. Afterwards it checks that
every record was stored exactly once. Run it against Postgres:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cairn_bench \
        .venv/bin/python scripts/bench_otlp.py

With --profile N it starts no server: it stores N exports in this process (decoded as the
view decodes them) and prints where an export's time goes: the database calls (time inside
psycopg's execute, executemany and commit, which includes psycopg's own work on the
parameters), by statement, and the Python rest; with --cprofile, cProfile's top functions.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import http.client
import multiprocessing
import os
import pstats
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from bench_ingest import free_port, wait_for  # noqa: E402 (a script beside this one)

EVENTS = ["tool_result", "api_request", "user_prompt", "tool_decision"]


def make_export(worker: int, number: int, size: int, sessions: int, run: str) -> bytes:
    """One ExportLogsServiceRequest of `size` events, each unique to (run, worker, number, i)."""
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    def kv(key: str, value: str) -> KeyValue:
        return KeyValue(key=key, value=AnyValue(string_value=value))

    request = ExportLogsServiceRequest()
    resource = request.resource_logs.add()
    resource.resource.attributes.extend([kv("service.name", "claude-code")])
    scope = resource.scope_logs.add()
    scope.scope.name = "com.anthropic.claude_code.events"
    now = time.time_ns()
    for i in range(size):
        n = number * size + i
        name = EVENTS[n % len(EVENTS)]
        record = scope.log_records.add()
        record.time_unix_nano = now - (size - i) * 1000
        record.body.string_value = f"claude_code.{name}"
        attrs = [
            kv("session.id", f"{run}-w{worker}-s{n % sessions}"),
            kv("event.name", name),
            kv("event.sequence", str(n)),
        ]
        key = f"{run}-{worker}-{n}"
        if name == "tool_result":
            attrs += [kv("tool_name", "Bash"), kv("tool_use_id", f"toolu_{key}"),
                      kv("success", "true"), kv("duration_ms", "120")]  # fmt: skip
        elif name == "api_request":
            attrs += [kv("request_id", f"req_{key}"), kv("model", "claude-opus-4-6"),
                      kv("input_tokens", "12"), kv("output_tokens", "340"),
                      kv("cost_usd", "0.01"), kv("duration_ms", "2300")]  # fmt: skip
        elif name == "user_prompt":
            attrs += [kv("prompt_length", "80"), kv("prompt.id", f"p_{key}")]
        else:
            attrs += [kv("tool_name", "Edit"), kv("decision", "accept"), kv("source", "config")]
        record.attributes.extend(attrs)
    return request.SerializeToString()


def client(args: tuple) -> list[float]:
    """Send the bodies one after another on one connection; each export's latency."""
    port, key, bodies = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    latencies = []
    headers = {"Content-Type": "application/x-protobuf", "Authorization": f"Bearer {key}"}
    for body in bodies:
        started = time.perf_counter()
        conn.request("POST", "/otlp/v1/logs", body, headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"export answered {response.status}")
        latencies.append(time.perf_counter() - started)
    return latencies


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds each process has used so far (Linux /proc)."""
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended
        found[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


def backends() -> list[int]:
    """The Postgres server processes of the benchmark database's other connections."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [pid for (pid,) in cursor.fetchall()]


def timed(method, spent: dict[str, list], label: str = ""):
    """`method` (a psycopg call), adding its time to `spent` under its statement or `label`."""

    def call(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return method(self, *args, **kwargs)
        finally:
            entry = spent[label or " ".join(str(args[0]).split())[:90]]
            entry[0] += 1
            entry[1] += time.perf_counter() - started

    return call


def profile(options: argparse.Namespace, run: str) -> None:
    """Store --profile exports in this process and print where their time goes."""
    import psycopg
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    from integrations.otlp import decoding
    from integrations.otlp.logs import store_logs
    from tracking.models import Project

    project = Project.objects.create(name=f"OTLP profile {run}", slug=f"otlp-profile-{run}")
    count = options.profile
    bodies = [make_export(0, n, options.records, options.sessions, run) for n in range(count + 1)]
    spent: dict[str, list] = collections.defaultdict(lambda: [0, 0.0])
    # Every statement, Django's and lib/sql's binary ones, goes through these (Django's
    # cursor class inherits them).
    cursor, connection = psycopg.Cursor, psycopg.Connection
    cursor.execute = timed(cursor.execute, spent)  # type: ignore[method-assign]
    cursor.executemany = timed(cursor.executemany, spent)  # type: ignore[method-assign]
    connection.commit = timed(connection.commit, spent, "COMMIT")  # type: ignore[method-assign]

    def export(body: bytes) -> None:
        message = decoding.parse(body, decoding.PROTOBUF, ExportLogsServiceRequest())
        store_logs(project, message)

    export(bodies[0])  # warm-up: imports, the connection, caches
    spent.clear()
    profiler = cProfile.Profile()
    started = time.perf_counter()
    if options.cprofile:
        profiler.enable()
    for body in bodies[1:]:
        export(body)
    profiler.disable()
    elapsed = time.perf_counter() - started
    load = os.getloadavg()
    database = sum(seconds for _, seconds in spent.values())
    per = 1000 / count  # seconds in all → ms per export
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; cpus: {os.cpu_count()}")
    print(
        f"{count} exports of {options.records} records in one process: {elapsed * per:.1f} ms "
        f"per export = {count * options.records / elapsed:,.0f} records/s"
        + (" (under cProfile)" if options.cprofile else "")
    )
    statements = sum(n for n, _ in spent.values()) / count
    print(
        f"database calls: {database * per:.1f} ms per export ({database / elapsed:.0%}), "
        f"{statements:.0f} calls; Python rest: {(elapsed - database) * per:.1f} ms"
    )
    for query, (n, seconds) in sorted(spent.items(), key=lambda item: -item[1][1])[:12]:
        print(f"  {seconds * per:6.1f} ms  {n / count:4.1f}x  {query}")
    if options.cprofile:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exports", type=int, default=20, help="Exports per client.")
    parser.add_argument("--records", type=int, default=1000, help="Log records per export.")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--servers", type=int, default=1, help="Daphne processes.")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N",
        help="Start no server: store N exports in this process and print the time split.",
    )  # fmt: skip
    parser.add_argument("--cprofile", action="store_true", help="With --profile: cProfile too.")
    options = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command

    from integrations.models import OtlpEvent
    from lib.stats import percentile
    from tracking.models import Project, SkillInvocation

    call_command("migrate", verbosity=0)
    load = os.getloadavg()
    run = uuid.uuid4().hex[:8]
    if options.profile:
        profile(options, run)
        return
    project = Project.objects.create(name=f"OTLP bench {run}", slug=f"otlp-bench-{run}")
    key = project.create_api_key(scope="write")[1]
    ports = [free_port() for _ in range(options.servers)]
    servers = [
        subprocess.Popen(  # noqa: S603 - fixed argument list
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
        )  # fmt: skip
        for port in ports
    ]
    try:
        for port in ports:
            wait_for(port)
        # The bodies are built here, before the clock starts: building one took about a third
        # of the time the server took to store it, and the clients share the server's cores.
        warm = [
            (ports[w % len(ports)], key, [make_export(w, 1, 10, options.sessions, f"{run}w")])
            for w in range(options.clients)
        ]
        jobs = [
            (ports[w % len(ports)], key, [make_export(w, n, options.records, options.sessions, run)
                                          for n in range(options.exports)])
            for w in range(options.clients)
        ]  # fmt: skip
        with multiprocessing.get_context("spawn").Pool(options.clients) as pool:
            pool.map(client, warm)  # a warm-up export per client: imports, connections
            daphnes = [server.pid for server in servers]
            cpu_before = cpu_seconds(daphnes + backends())
            started = time.perf_counter()
            latencies = [t for part in pool.map(client, jobs) for t in part]
            elapsed = time.perf_counter() - started
            cpu_after = cpu_seconds(daphnes + backends())
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
    sent = options.clients * options.exports * options.records
    stored = OtlpEvent.objects.filter(project=project).count() - options.clients * 10
    calls = SkillInvocation.objects.filter(project=project, source="otlp").count()
    latencies.sort()
    after = os.getloadavg()
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; cpus: {os.cpu_count()}")
    print(f"load average after (the run's own load included): {after[0]:.2f} {after[1]:.2f}")
    print(f"records: {sent} in {elapsed:.2f} s = {sent / elapsed:,.0f} records/s")
    print(
        f"exports of {options.records}: p50 {percentile(latencies, 50) * 1000:.0f} ms, "
        f"p99 {percentile(latencies, 99) * 1000:.0f} ms"
    )
    print(f"stored events: {stored} (sent {sent}); tool calls: {calls}")
    used = {pid: cpu_after[pid] - cpu_before.get(pid, 0.0) for pid in cpu_after}
    daphne = sum(used.get(pid, 0.0) for pid in daphnes)
    postgres = sum(seconds for pid, seconds in used.items() if pid not in daphnes)
    print(
        f"CPU during the run: Daphne {daphne:.2f} s, Postgres (this database's connections) "
        f"{postgres:.2f} s, in {elapsed:.2f} s on {os.cpu_count()} cores"
    )
    if stored != sent:
        raise SystemExit("stored events differ from the records sent")


if __name__ == "__main__":
    main()
