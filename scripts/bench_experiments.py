#!/usr/bin/env python
"""Experiment results benchmark: one running experiment with --units session units.

Two data sets, one measurement:

- its own (default): a `bench-experiments` project it replaces, each unit a session exposed at
  the experiment's start with --calls tool calls after its exposure (the treatment completing
  more of them), one before it (which no metric may count), a start and an end checkpoint with
  a score and `tests.total`, and token counts, written in bulk;
- `--project SLUG`: a project of the 10-million-event data set of `scripts/bench_analytics.py`
  (`bench-01`…): its sessions are the units, each exposed at its start (as the SessionStart
  hook does), exposures written in bulk. That data set has 5,400 sessions per project; when
  the project has fewer than --units, copies of its sessions with their events and
  checkpoints are added server-side (external ids and idempotency keys suffixed `-c0`, `-c1`
  …) and its rollups rebuilt, once. The exposed sessions' checkpoints get a gate verdict and
  a `tests.total` measurement where they have none (the data set's have neither), so every
  metric has data.

Then it times `experiment_results` (the worker's step, also what the API and the page compute)
over --runs runs, and `GET /api/v1/experiments/<key>/results` and the results page through
Django's test client as a superuser over --repeat requests each, and prints p50/p95 with the
load average. Postgres only:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cairn_bench \\
        .venv/bin/python scripts/bench_experiments.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_analytics \\
        .venv/bin/python scripts/bench_experiments.py --project bench-01
    … --skip-load                                   # time what is loaded already
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
SLUG = "bench-experiments"
KEY = "bench"
START = datetime(2026, 11, 1, tzinfo=UTC)


def create_experiment(project, started_at: datetime, units: int):
    """The benchmarked experiment, running since `started_at`: two arms, every metric."""
    from analytics.models import Experiment

    Experiment.objects.filter(project=project, key=KEY).delete()
    experiment = Experiment.objects.create(
        project=project,
        key=KEY,
        name="Bench",
        unit="session",
        arms=[{"key": "control", "weight": 0.5}, {"key": "treatment", "weight": 0.5}],
        metrics=["completion_rate", "quality_score_change", "tests_created"],
        guardrail_metrics=["tool_duration", "tokens", "cost_usd", "gate_failed_checkpoints"],
        planned_units=units,
    )
    experiment.start(started_at)
    return experiment


def arm_of(unit: str) -> str:
    """The arm GrowthBook's hash v2 gives `unit` in the 50/50 benchmark experiment."""
    from analytics.experiments.assignment import hash_v2

    return "control" if hash_v2(KEY, unit) < 0.5 else "treatment"


def load(args) -> str:
    """The project, its experiment and every unit's rows; returns the project's slug."""
    from django.db import connection

    from analytics.models import Exposure
    from lib.sql import insert_rows
    from tracking.models import Checkpoint, Measurement, Project, Session, SkillInvocation

    rng = random.Random(14)
    Project.objects.filter(slug=SLUG).delete()
    project = Project.objects.create(name="Bench experiments", slug=SLUG)
    experiment = create_experiment(project, START, args.units)
    units = [f"unit-{i:06d}" for i in range(args.units)]
    arms = {u: arm_of(u) for u in units}
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
    return SLUG


def _copy_sql(model, replaced: dict[str, str], source: str) -> str:
    """INSERT INTO `model`'s table every column but the key, from `source` aliased o, with
    `replaced` expressions for some columns."""
    columns = [f.column for f in model._meta.concrete_fields if not f.primary_key]
    values = ", ".join(replaced.get(c, f"o.{c}") for c in columns)
    return f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) SELECT {values} {source}"  # noqa: S608 - names only


def add_sessions(project, wanted: int) -> None:
    """Copies of the project's sessions with their events and checkpoints, server-side,
    until it has `wanted` top-level sessions; then its rollups rebuilt from its events."""
    from django.db import connection, transaction

    from tracking import rollup_sql
    from tracking.models import Checkpoint, Session, SkillInvocation

    top = Session.objects.filter(project=project, parent__isnull=True)
    have = top.count()
    if have >= wanted:
        return
    originals = list(
        top.exclude(external_id__regex=r"-c[0-9]+$").order_by("pk").values_list("pk", "external_id")
    )
    existing = set(top.values_list("external_id", flat=True))
    began = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        copy = 0
        while have < wanted:
            suffix = f"-c{copy}"
            copy += 1
            chosen = [pk for pk, ext in originals if ext + suffix not in existing]
            chosen = chosen[: wanted - have]
            if not chosen:
                continue
            cursor.execute(
                _copy_sql(
                    Session, {"external_id": "o.external_id || %s"}, "FROM tracking_session o"
                )
                + " WHERE o.id = ANY(%s) ORDER BY o.id RETURNING id",
                [suffix, chosen],
            )
            made = [row[0] for row in cursor.fetchall()]
            pairs = "FROM unnest(%s::bigint[], %s::bigint[]) AS m (old_id, new_id) "
            cursor.execute(
                _copy_sql(
                    SkillInvocation,
                    {"session_id": "m.new_id", "idempotency_key": "o.idempotency_key || %s"},
                    pairs + "JOIN tracking_skillinvocation o ON o.session_id = m.old_id",
                ),
                [suffix, chosen, made],
            )
            events = cursor.rowcount
            cursor.execute(
                _copy_sql(
                    Checkpoint,
                    {"session_id": "m.new_id"},
                    pairs + "JOIN tracking_checkpoint o ON o.session_id = m.old_id",
                ),
                [chosen, made],
            )
            print(f"  copied {len(made):,} sessions ({suffix}), {events:,} events", flush=True)
            have += len(made)
        rollup_sql.rebuild([project.pk], progress=lambda m: print(f"  {m}", flush=True))
        cursor.execute("ANALYZE")
    print(f"  {project.slug} now has {have:,} sessions ({time.monotonic() - began:.0f} s)")


def load_dataset(args) -> str:
    """The experiment over the first --units sessions of project --project (by start), each
    exposed at its start; returns the project's slug."""
    from django.db import connection

    from analytics.models import Exposure
    from lib.sql import insert_rows
    from tracking.models import Checkpoint, Measurement, Project, Session

    project = Project.objects.get(slug=args.project)
    add_sessions(project, args.units)
    sessions = list(
        Session.objects.filter(project=project, parent__isnull=True)
        .order_by("started_at", "pk")
        .values_list("pk", "external_id", "started_at")[: args.units]
    )
    experiment = create_experiment(project, sessions[0][2], args.units)
    insert_rows(
        Exposure,
        ["experiment", "unit_id", "arm", "first_exposed_at"],
        [(experiment.pk, unit, arm_of(unit), started) for _, unit, started in sessions],
    )
    checkpoints = Checkpoint.objects.filter(session_id__in=[pk for pk, _, _ in sessions])
    measured = Measurement.objects.filter(checkpoint__in=checkpoints, key="tests.total")
    missing = list(checkpoints.exclude(pk__in=measured.values("checkpoint")).values_list("pk"))
    rng = random.Random(14)
    Measurement.objects.bulk_create(
        (
            Measurement(checkpoint_id=pk, key="tests.total", value=rng.randint(0, 50))
            for (pk,) in missing
        ),
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.14)")
        cursor.execute(
            "UPDATE tracking_checkpoint SET gate_verdict = CASE WHEN random() < 0.2 "
            "THEN 'failed' ELSE 'passed' END WHERE gate_verdict = '' AND session_id = ANY(%s)",
            [[pk for pk, _, _ in sessions]],
        )
        # VACUUM sets the visibility map, as autovacuum does on a live database: the calls
        # are read by an index-only scan (a heap fetch per call without it).
        for table in ("tracking_skillinvocation", "tracking_checkpoint"):
            cursor.execute(f"VACUUM {table}")
        for table in ("analytics_exposure", "tracking_measurement", "tracking_checkpoint"):
            cursor.execute(f"ANALYZE {table}")
    print(
        f"experiment {KEY!r} in {project.slug}: {len(sessions):,} sessions exposed, "
        f"{len(missing):,} tests.total measurements added",
        flush=True,
    )
    return project.slug


def timed(label: str, repeat: int, call) -> None:
    """Run `call` `repeat` times; print p50, p95 and max with the load average."""
    from lib.stats import percentile

    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    print(
        f"{label}: p50 {percentile(times, 50):.0f} ms, p95 {percentile(times, 95):.0f} ms, "
        f"max {times[-1]:.0f} ms ({repeat} runs; load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())})",
        flush=True,
    )


def measure(args, slug: str) -> None:
    from django.contrib.auth.models import User
    from django.test import Client

    from analytics.experiments.results import experiment_results
    from analytics.models import Experiment

    experiment = Experiment.objects.select_related("project").get(project__slug=slug, key=KEY)
    first = experiment_results(experiment)  # also warms the caches
    print(
        f"experiment {KEY!r} in {slug}: {first['n']:,} units, decision {first['decision']}, "
        + ", ".join(
            f"{m['metric']} n {sum(a['n'] for a in m['arms']):,}" for m in first["metrics"]
        ),
        flush=True,
    )
    timed("experiment_results", args.runs, lambda: experiment_results(experiment))
    user, _ = User.objects.get_or_create(
        username="bench-experiments", defaults={"is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    api = f"/api/v1/experiments/{KEY}/results?project={slug}"
    page = f"/p/{slug}/experiments/{KEY}/"
    for url in (api, page):
        assert client.get(url).status_code == 200, url
    timed("GET results API", args.repeat, lambda: client.get(api))
    timed("GET results page", args.repeat, lambda: client.get(page))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=20, help="tool calls per unit (own data)")
    parser.add_argument(
        "--project", help="a project of bench_analytics.py's data set (bench-01…) instead"
    )
    parser.add_argument("--runs", type=int, default=10, help="experiment_results runs")
    parser.add_argument("--repeat", type=int, default=50, help="requests per URL")
    parser.add_argument("--skip-load", action="store_true", help="Time what is loaded already.")
    args = parser.parse_args()
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("Run it against Postgres (DATABASE_URL=postgres://…).")
    settings.ALLOWED_HOSTS = ["*"]
    print(f"load average before: {os.getloadavg()}", flush=True)
    slug = args.project or SLUG
    if not args.skip_load:
        slug = load_dataset(args) if args.project else load(args)
    measure(args, slug)
    print(f"load average after: {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
