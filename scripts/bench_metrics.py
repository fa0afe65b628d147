#!/usr/bin/env python
"""Metrics hot-path benchmark: the CPU time Cairn's counting adds to one ingest batch and to
one live fan-out, in prometheus_client's multiprocess mode (files in a temporary folder), as
processes count in production.

Times `tracking.instruments.count_invocations` on batches of --batch events (10 skills and
tools, durations on every event; the skill allow-list already read, as between its refreshes),
and a fan-out's increments (frames sent, fan-out time, frames written), with `process_time`
(CPU time of this process, so other load on the machine matters less than for wall time):

    .venv/bin/python scripts/bench_metrics.py --batch 1000 --rounds 2000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SKILLS = ["pytest", "ruff", "mypy", "git", "Read", "Edit", "Bash", "Grep", "WebFetch", "Task"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="cairn-bench-metrics-")
    # Before prometheus_client is imported: its values are files from then on.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from tracking import instruments
    from tracking.ingest import InvocationEvent

    assert instruments.MULTIPROCESS
    instruments.top_skills.names = frozenset(["pytest", "ruff", "mypy", "git"])
    instruments.top_skills.read_at = float("inf")  # no database read during the timing
    at = datetime(2026, 11, 25, 10, tzinfo=UTC)
    batch = [
        InvocationEvent(
            key=f"k{i}",
            session="s",
            skill=SKILLS[i % len(SKILLS)],
            invoked_at=at,
            completed=i % 5 != 0,
            duration_s=0.1 + (i % 13),
        )
        for i in range(args.batch)
    ]
    rounds = max(1, args.rounds // max(1, args.batch // 100))
    started = time.process_time()
    for _ in range(rounds):
        instruments.count_invocations("api", batch, duplicates=0)
    per_batch = (time.process_time() - started) / rounds
    started = time.process_time()
    for _ in range(args.rounds):
        instruments.live_fanout_seconds.observe(0.001)
        instruments.live_frames_sent.inc(1000)
        instruments.live_frames_written.labels("direct").inc(1000)
    per_fanout = (time.process_time() - started) / args.rounds
    print(f"multiprocess folder: {folder}")
    print(
        f"count_invocations, {args.batch} events: {per_batch * 1e3:.3f} ms CPU per batch "
        f"({per_batch / args.batch * 1e6:.2f} µs per event), {rounds} rounds"
    )
    print(f"one fan-out's increments: {per_fanout * 1e6:.1f} µs CPU, {args.rounds} rounds")


if __name__ == "__main__":
    main()
