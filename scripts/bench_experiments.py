#!/usr/bin/env python
"""Experiment results benchmark: one running experiment with --units session units.

Each unit is a session exposed at the experiment's start, with --calls tool calls after its
exposure (the treatment completing more of them), one before it (which no metric may count),
a start and an end checkpoint with a score and `tests.total`, and token counts. The rows are
written in bulk (not through the hook: this times the read side). Then it times
`experiment_results` (the worker's step and the API's work), `GET /api/v1/experiments/<key>/results`
and the results page through Django's test client as a superuser, and prints p50/p95 of each.
Postgres only; it replaces its own `bench-experiments` project:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cairn_bench \\
        .venv/bin/python scripts/bench_experiments.py
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
SLUG = "bench-experiments"
START = datetime(2026, 11, 1, tzinfo=UTC)


def load(args) -> None:
    """The project, its experiment and every unit's rows."""
    from django.db import connection

    from analytics.experiments.assignment import hash_v2
    from analytics.models import Experiment, Exposure
    from lib.sql import insert_rows
    from tracking.models import Checkpoint, Measurement, Project, Session, SkillInvocation

    rng = random.Random(14)
    Project.objects.filter(slug=SLUG).delete()
    project = Project.objects.create(name="Bench experiments", slug=SLUG)
    experiment = Experiment.objects.create(
        project=project,
        key="bench",
        name="Bench",
        unit="session",
        arms=[{"key": "control", "weight": 0.5}, {"key": "treatment", "weight": 0.5}],
        metrics=["completion_rate", "quality_score_change", "tests_created"],
        guardrail_metrics=["tool_duration", "tokens", "cost_usd", "gate_failed_checkpoints"],
        planned_units=args.units,
    )
    experiment.start(START)
    units = [f"unit-{i:06d}" for i in range(args.units)]
    arms = {u: "control" if hash_v2("bench", u) < 0.5 else "treatment" for u in units}
    Exposure.objects.bulk_create(
        (
            Exposure(experiment=experiment, unit_id=u, arm=arms[u], first_exposed_at=START)
            for u in units
        ),
        batch_size=5000,
    )
    sessions = Session.objects.bulk_create(
        (
            Session(
                project=project,
                external_id=u,
                started_at=START,
                input_tokens=rng.randint(1, 9) * 1000,
            )
            for u in units
        ),
        batch_size=5000,
    )
    rows = []
    for session in sessions:
        rate = 0.7 if arms[session.external_id] == "control" else 0.75
        for k in range(-1, args.calls):
            rows.append(
                (project.pk, session.pk, "pytest", START + timedelta(seconds=60 * k + 1),
                 rng.random() < rate, rng.lognormvariate(1, 0.5), "", "", "api",
                 f"{session.external_id}-{k}")
            )  # fmt: skip
    columns = [
        "project", "session", "skill", "invoked_at", "completed", "duration_s", "phase",
        "error_type", "source", "idempotency_key",
    ]  # fmt: skip
    insert_rows(SkillInvocation, columns, rows)
    checkpoints = Checkpoint.objects.bulk_create(
        (
            Checkpoint(
                project=project,
                session=s,
                kind=kind,
                score_total=rng.uniform(50, 90),
                gate_verdict=rng.choice(["passed", "failed"]),
                created_at=START + timedelta(minutes=minutes),
            )
            for s in sessions
            for kind, minutes in (("start", 1), ("end", args.calls + 2))
        ),  # fmt: skip
        batch_size=5000,
    )
    Measurement.objects.bulk_create(
        (
            Measurement(checkpoint=c, key="tests.total", value=rng.randint(0, 50))
            for c in checkpoints
        ),
        batch_size=5000,
    )
    with connection.cursor() as cursor:  # fresh planner statistics, as autovacuum gives
        cursor.execute("ANALYZE")
    print(
        f"loaded {args.units:,} units, {len(rows):,} invocations, {len(checkpoints):,} checkpoints"
    )


def timed(label: str, repeat: int, call) -> None:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[max(0, round(0.95 * len(times)) - 1)]
    print(f"{label}: p50 {statistics.median(times):.0f} ms, p95 {p95:.0f} ms ({repeat} runs)")


def measure(args) -> None:
    from django.contrib.auth.models import User
    from django.test import Client

    from analytics.experiments.results import experiment_results
    from analytics.models import Experiment

    experiment = Experiment.objects.select_related("project").get(project__slug=SLUG)
    timed("experiment_results", args.repeat, lambda: experiment_results(experiment))
    user, _ = User.objects.get_or_create(
        username="bench-experiments", defaults={"is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    api = f"/api/v1/experiments/bench/results?project={SLUG}"
    page = f"/p/{SLUG}/experiments/bench/"
    for url in (api, page):
        assert client.get(url).status_code == 200, url
    timed("GET results API", args.repeat, lambda: client.get(api))
    timed("GET results page", args.repeat, lambda: client.get(page))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=20, help="tool calls per unit")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--skip-load", action="store_true", help="Time what is loaded already.")
    args = parser.parse_args()
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]
    if not args.skip_load:
        load(args)
    measure(args)


if __name__ == "__main__":
    main()
