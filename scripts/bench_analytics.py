#!/usr/bin/env python
"""Analytics read benchmark: the skills endpoints over rollups worth 10 million events.

Loads the rollups directly (not the event log, which no page reads): the events of
--projects projects × --skills skills over --days days are generated in memory (Zipf skill
popularity, log-normal durations, four phases, two-hour sessions of --users users) and only
their per-hour aggregates are written, with `lib.sql.insert_rows`, into SkillHourly,
SkillSessionHour, SkillDurationBucket and SkillPhaseHour. Then it times the endpoints through
Django's test client as a superuser (who sees every project, the widest `across_projects`)
and as the member of one project, and prints p50/p95 per endpoint. Then it times a dependency
pass over 90 days of the first project (from SkillSessionHour, stored as the worker does) and
the p95 of its `related` endpoint, and the success predictor's training on
--predictor-events calls written straight into the first project's event log (only training
reads events; the rollups are not updated for them). Postgres only; it replaces its own
`bench-*` projects:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cairn_bench \
        .venv/bin/python scripts/bench_analytics.py
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def generate(args, rng):
    """Per-event arrays: project, hour index, skill, outcome (1, 0, −1 undecided), duration,
    phase, session slot."""
    import numpy as np

    n = args.events
    hours = args.days * 24
    popularity = 1.0 / np.arange(1, args.skills + 1)
    skill = rng.choice(args.skills, size=n, p=popularity / popularity.sum())
    rate = rng.uniform(0.6, 0.98, args.skills)[skill]
    outcome = np.where(rng.random(n) < rate, 1, 0)
    outcome[rng.random(n) < 0.05] = -1
    return {
        "project": rng.integers(0, args.projects, n),
        "hour": rng.integers(0, hours, n),
        "skill": skill,
        "outcome": outcome,
        "duration": np.clip(rng.lognormal(np.log(3), 1.4, n), 0.001, 604_800),
        "phase": rng.integers(0, 4, n),
        "slot": rng.integers(0, args.sessions_per_slot, n),
    }


def load(args) -> list:
    import numpy as np
    from django.contrib.auth.models import User
    from django.db import connection, transaction

    from lib import buckets
    from lib.sql import insert_rows
    from tracking.models import (
        Project,
        Session,
        SkillDurationBucket,
        SkillHourly,
        SkillPhaseHour,
        SkillSessionHour,
    )

    if connection.vendor != "postgresql":
        raise SystemExit("Run it against Postgres (DATABASE_URL=postgres://…).")
    rng = np.random.default_rng(42)
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=args.days)
    t0 = time.monotonic()
    e = generate(args, rng)
    # lib.buckets.bucket_of vectorised (it may differ by one bucket exactly at an edge, which
    # changes nothing here: only the number of rows matters to the timings).
    ratio, lowest = buckets.RATIO, buckets.LOWEST_S
    e["bucket"] = np.clip(
        np.floor(np.log(e["duration"] / lowest) / np.log(ratio)).astype(int) + 1,
        0,
        buckets.BUCKETS - 1,
    )
    print(f"generated {args.events:,} events in {time.monotonic() - t0:.1f} s", flush=True)
    Project.objects.filter(slug__startswith="bench-").delete()
    User.objects.filter(username__in=["bench-root", "bench-member"]).delete()
    projects = Project.objects.bulk_create(
        [Project(name=f"bench {i}", slug=f"bench-{i}") for i in range(args.projects)]
    )
    ids = np.array([p.pk for p in projects])
    hours = [start + timedelta(hours=h) for h in range(args.days * 24)]
    skills = [f"skill-{i:03d}" for i in range(args.skills)]
    phases = ["plan", "edit", "test", "review"]
    slots = args.days * 12  # two-hour sessions
    with transaction.atomic():
        sessions = Session.objects.bulk_create(
            [
                Session(
                    project=project,
                    external_id=f"s{slot}-{k}",
                    user_name=f"user-{(slot * 7 + k) % args.users}",
                    started_at=start + timedelta(hours=2 * slot),
                    status=Session.ENDED,
                )
                for project in projects
                for slot in range(slots)
                for k in range(args.sessions_per_slot)
            ],
            batch_size=5000,
        )
    session_ids = np.array([s.pk for s in sessions]).reshape(
        args.projects, slots, args.sessions_per_slot
    )
    session = session_ids[e["project"], e["hour"] // 2, e["slot"]]

    def grouped(*columns):
        keys = np.stack(columns, axis=1)
        return np.unique(keys, axis=0, return_inverse=True)

    t0 = time.monotonic()
    keys, inverse = grouped(e["project"], e["hour"], e["skill"])
    inverse = inverse.ravel()
    count = np.bincount(inverse)
    completed = np.bincount(inverse, weights=e["outcome"] == 1).astype(int)
    failed = np.bincount(inverse, weights=e["outcome"] == 0).astype(int)
    total = np.bincount(inverse, weights=e["duration"])
    squares = np.bincount(inverse, weights=e["duration"] ** 2)
    pairs, pair_inverse = grouped(e["project"], e["hour"], e["skill"], session)
    distinct = np.bincount(
        np.unique(np.stack([inverse, pair_inverse.ravel()], axis=1), axis=0)[:, 0]
    )
    rows = [
        (
            int(ids[p]),
            skills[s],
            hours[h],
            int(n),
            int(ok),
            int(bad),
            int(n),
            float(t),
            float(q),
            int(u),
        )
        for (p, h, s), n, ok, bad, t, q, u in zip(
            keys, count, completed, failed, total, squares, distinct, strict=True
        )
    ]
    columns = (
        "project_id", "skill", "hour", "invocations", "completed", "failed",
        "duration_count", "duration_sum", "duration_sumsq", "unique_sessions",
    )  # fmt: skip
    written = {}
    with transaction.atomic():
        insert_rows(SkillHourly, columns, rows)
        written["SkillHourly"] = len(rows)
        seen = [(int(ids[p]), skills[s], hours[h], int(x)) for p, h, s, x in pairs]
        insert_rows(SkillSessionHour, ("project_id", "skill", "hour", "session_id"), seen)
        written["SkillSessionHour"] = len(seen)
        for model, key, labels in (
            (SkillDurationBucket, "bucket", None),
            (SkillPhaseHour, "phase", phases),
        ):
            found, inv = grouped(e["project"], e["hour"], e["skill"], e[key])
            counts = np.bincount(inv.ravel())
            counted = [
                (int(ids[p]), skills[s], hours[h], labels[v] if labels else int(v), int(n))
                for (p, h, s, v), n in zip(found, counts, strict=True)
            ]
            insert_rows(model, ("project_id", "skill", "hour", key, "count"), counted)
            written[model.__name__] = len(counted)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"loaded {written} in {time.monotonic() - t0:.1f} s", flush=True)
    User.objects.create_superuser("bench-root", "bench@example.org", "bench-pw")
    return projects


def measure(args, projects) -> None:
    from django.contrib.auth.models import User
    from django.test import Client

    from lib.stats import percentile

    client = Client()
    client.force_login(User.objects.get(username="bench-root"))
    member = Client()
    one, _ = User.objects.get_or_create(username="bench-member")
    projects[0].members.add(one)
    member.force_login(one)
    slug = projects[0].slug
    endpoints = {
        "skills?project=…&window=30d (with across 20 projects)": (
            "/api/v1/skills",
            {"project": slug, "window": "30d"},
        ),
        "projects/…/skills?window=7d": (f"/api/v1/projects/{slug}/skills", {"window": "7d"}),
        "projects/…/skills?window=90d": (f"/api/v1/projects/{slug}/skills", {"window": "90d"}),
        "skills?window=30d (all 20 projects)": ("/api/v1/skills", {"window": "30d"}),
        "skills?project=…&window=30d&skill=skill-000": (
            "/api/v1/skills",
            {"project": slug, "window": "30d", "skill": "skill-000"},
        ),
    }
    endpoints["member of one project: projects/…/skills?window=30d"] = (
        f"/api/v1/projects/{slug}/skills",
        {"window": "30d"},
    )
    for name, (url, query) in endpoints.items():
        timings = []
        reader = member if name.startswith("member") else client
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            response = reader.get(url, query)
            timings.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, response.content[:300]
        timings.sort()
        print(
            f"{name}: p50 {percentile(timings, 50):.0f} ms, p95 {percentile(timings, 95):.0f} ms"
            f" ({len(response.json()['skills'])} skills, {args.repeat} requests)",
            flush=True,
        )


def measure_dependencies_and_predictor(args, projects) -> None:
    import numpy as np
    from django.contrib.auth.models import User
    from django.test import Client

    from analytics.dependencies import compute, store
    from analytics.predictor.training import train
    from lib.sql import insert_rows
    from lib.stats import percentile
    from tracking.models import Session, SkillInvocation

    project = projects[0]
    now = datetime.now(UTC)
    t0 = time.monotonic()
    result = compute(project, 90, now)
    computed = time.monotonic() - t0
    store(project, result)
    print(
        f"dependency pass, 90 days, {project.slug}: {computed:.2f} s to compute, "
        f"{time.monotonic() - t0:.2f} s with storing ({result.n_sessions:,} sessions, "
        f"{len(result.pairs):,} pairs)",
        flush=True,
    )
    client = Client()
    client.force_login(User.objects.get(username="bench-root"))
    timings = []
    for _ in range(args.repeat):
        t1 = time.perf_counter()
        response = client.get("/api/v1/skills/skill-000/related", {"project": project.slug})
        timings.append((time.perf_counter() - t1) * 1000)
        assert response.status_code == 200, response.content[:300]
    timings.sort()
    print(
        f"skills/skill-000/related (stored pass): p50 {percentile(timings, 50):.0f} ms, "
        f"p95 {percentile(timings, 95):.0f} ms ({len(response.json()['related'])} related, "
        f"{args.repeat} requests)",
        flush=True,
    )
    if not args.predictor_events:
        return
    rng = np.random.default_rng(7)
    n = args.predictor_events
    sessions = list(
        Session.objects.filter(project=project)
        .order_by("started_at")
        .values_list("pk", "started_at")
    )
    chosen = rng.integers(0, len(sessions), n)
    skill = rng.integers(0, 20, n)
    rate = np.linspace(0.95, 0.4, 20)[skill]
    rows = [
        (
            project.pk,
            sessions[c][0],
            f"skill-{int(k):03d}",
            sessions[c][1] + timedelta(seconds=float(o)),
            bool(u < r),
            1.0,
            "",
            "",
            "api",
            f"bench-{i}",
        )
        for i, (c, k, o, u, r) in enumerate(
            zip(chosen, skill, rng.uniform(0, 7200, n), rng.random(n), rate, strict=True)
        )
    ]
    SkillInvocation.objects.filter(project=project).delete()
    columns = (
        "project_id", "session_id", "skill", "invoked_at", "completed", "duration_s", "phase",
        "error_type", "source", "idempotency_key",
    )  # fmt: skip
    insert_rows(SkillInvocation, columns, rows)
    t0 = time.monotonic()
    version = train(project, now)
    print(
        f"predictor training on {n:,} calls: {time.monotonic() - t0:.1f} s "
        f"(active {version.is_active}, AUC {version.auc}, reason {version.reason!r})",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--projects", type=int, default=20)
    parser.add_argument("--skills", type=int, default=200)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--sessions-per-slot", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--skip-load", action="store_true", help="Time what is loaded already.")
    parser.add_argument(
        "--predictor-events",
        type=int,
        default=1_000_000,
        help="calls written for the predictor's training (0: do not time training)",
    )
    args = parser.parse_args()
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]
    from tracking.models import Project

    if args.skip_load:
        projects = list(Project.objects.filter(slug__startswith="bench-").order_by("pk"))
    else:
        projects = load(args)
    measure(args, projects)
    measure_dependencies_and_predictor(args, projects)


if __name__ == "__main__":
    main()
