#!/usr/bin/env python
"""OTLP log throughput: Claude Code events through POST /otlp/v1/logs into the database.

Starts its own Daphne process(es) (--servers) on free ports, creates a benchmark project and
write key, then sends --exports protobuf exports of --records events each (tool results, API
requests, prompts and edit decisions over --sessions sessions per client: one CLI exports its
own sessions) from --clients concurrent client processes, and prints log records/s and request
latency percentiles. Afterwards it checks that every record was stored exactly once. Run it
against Postgres:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cairn_bench \
        .venv/bin/python scripts/bench_otlp.py
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
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
    port, key, worker, exports, size, sessions, run = args
    bodies = [make_export(worker, n, size, sessions, run) for n in range(exports)]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exports", type=int, default=20, help="Exports per client.")
    parser.add_argument("--records", type=int, default=1000, help="Log records per export.")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--servers", type=int, default=1, help="Daphne processes.")
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
        jobs = [
            (ports[w % len(ports)], key, w, options.exports, options.records, options.sessions, run)
            for w in range(options.clients)
        ]
        with multiprocessing.get_context("spawn").Pool(options.clients) as pool:
            # Build the bodies before the clock starts: a warm-up export per client.
            pool.map(client, [(*j[:3], 1, 10, j[5], f"{run}w") for j in jobs])
            started = time.perf_counter()
            latencies = [t for part in pool.map(client, jobs) for t in part]
            elapsed = time.perf_counter() - started
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
    sent = options.clients * options.exports * options.records
    stored = OtlpEvent.objects.filter(project=project).count() - options.clients * 10
    calls = SkillInvocation.objects.filter(project=project, source="otlp").count()
    latencies.sort()
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; cpus: {os.cpu_count()}")
    print(f"records: {sent} in {elapsed:.2f} s = {sent / elapsed:,.0f} records/s")
    print(
        f"exports of {options.records}: p50 {percentile(latencies, 50) * 1000:.0f} ms, "
        f"p99 {percentile(latencies, 99) * 1000:.0f} ms"
    )
    print(f"stored events: {stored} (sent {sent}); tool calls: {calls}")
    if stored != sent:
        raise SystemExit("stored events differ from the records sent")


if __name__ == "__main__":
    main()
