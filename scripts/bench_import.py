#!/usr/bin/env python3
"""Benchmark: Claude Code transcript import into Postgres against ccusage, speed and totals.

    .venv/bin/python scripts/bench_import.py [--copies 20] [--ccusage PATH] [--keep]

Builds a `~/.claude/projects`-like folder from the shared data set's transcripts, repeated
`--copies` times with every id (sessions, messages, requests, tool uses, uuids) made unique per
copy so nothing deduplicates away, then times end to end, each as its own process:

- `ccusage claude session --json --offline` (20.x; `npm install ccusage@20.0.24` into a temp
  folder and pass its `node_modules/.bin/ccusage`), 3 runs, median;
- `manage.py import_transcripts --json` into a fresh Postgres database (first import of all
  copies but one; 3 runs, each into a new database, median), then a run after adding the last
  copy's files (incremental), then 3 runs with nothing new (re-run, median).

and checks that both report the same token totals and cost. Needs a Postgres server: the
database named by --database-url is dropped and created.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests/fixtures/data/transcripts"
UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
IDS = re.compile(rb'"((?:msg|req|toolu)_[A-Za-z0-9]+)"')


def variant(copy: int):
    """A function making every id of copy `copy` unique, the same way in names and contents."""

    def uuid(match: re.Match) -> bytes:
        text = match.group(0)
        tail = (int(text[-4:], 16) + copy) % 0x10000
        return text[:-4] + f"{tail:04x}".encode()

    def other(match: re.Match) -> bytes:
        return b'"' + match.group(1) + f"c{copy}".encode() + b'"'

    def apply(data: bytes) -> bytes:
        return IDS.sub(other, UUID.sub(uuid, data)) if copy else data

    return apply


def build(target: Path, copies: int) -> tuple[int, int]:
    """The data set `copies` times under target/projects/copy-N; returns (bytes, lines)."""
    total_bytes = total_lines = 0
    for copy in range(copies):
        change = variant(copy)
        for source in sorted(DATA.rglob("*.jsonl")):
            relative = source.relative_to(DATA)
            name = change(str(relative).encode()).decode()
            destination = target / "projects" / f"copy-{copy}" / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            data = change(source.read_bytes())
            destination.write_bytes(data)
            total_bytes += len(data)
            total_lines += data.count(b"\n")
    return total_bytes, total_lines


def timed(command: list[str], env: dict) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return elapsed, done.stdout


def cairn_totals(output: str) -> dict:
    sessions = json.loads(output)["sessions"]
    totals = {k: sum(s["tokens"][k] for s in sessions) for k in sessions[0]["tokens"]}
    costs = [s["cost_usd"] for s in sessions if s["requests"]]
    totals["cost"] = None if None in costs else sum(Decimal(str(c)) for c in costs)
    totals["sessions"] = len(sessions)
    return totals


def ccusage_totals(output: str) -> dict:
    data = json.loads(output)["totals"]
    return {
        "input": data["inputTokens"],
        "output": data["outputTokens"],
        "cache_creation": data["cacheCreationTokens"],
        "cache_read": data["cacheReadTokens"],
        "cost": Decimal(str(data["totalCost"])),
        "sessions": len(json.loads(output)["sessions"]),
    }


def reset_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')


def load() -> str:
    """The machine's load average now: timings are only comparable at a similar one."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def file_edits(url: str) -> int:
    """How many FileEdit rows the imports stored (53 per copy of the data set)."""
    import psycopg

    with psycopg.connect(url) as connection:
        row = connection.execute("SELECT count(*) FROM integrations_fileedit").fetchone()
    return row[0] if row else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--ccusage", help="path of the ccusage 20.x executable")
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/cairn_bench_import"
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated folder")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="cairn-bench-import-"))
    try:
        size, lines = build(work / "config", args.copies)
        mb = size / 1_000_000
        print(f"data: {args.copies} copies of the shared transcripts, {mb:.1f} MB, {lines:,} lines")
        print(f"load average at start (1, 5, 15 min): {load()}")
        env = {**os.environ, "DATABASE_URL": args.database_url}
        python = str(ROOT / ".venv" / "bin" / "python")
        command = [python, "manage.py", "import_transcripts", "--json", "--project", "bench"]
        # One copy is kept aside to measure an incremental run with new files.
        last = work / "config" / "projects" / f"copy-{args.copies - 1}"
        aside = work / "aside"
        shutil.move(last, aside)
        firsts = []
        for _ in range(3):  # each into a fresh database; the last one's stays for what follows
            reset_database(args.database_url)
            subprocess.run([python, "manage.py", "migrate", "-v0"], env=env, check=True, cwd=ROOT)
            subprocess.run(
                [python, "manage.py", "createproject", "Bench", "--slug", "bench"],
                env=env, check=True, cwd=ROOT, capture_output=True,
            )  # fmt: skip
            elapsed, out = timed([*command, str(work / "config" / "projects")], env)
            firsts.append(elapsed)
        first = statistics.median(firsts)
        shutil.move(aside, last)
        again, again_out = timed([*command, str(work / "config" / "projects")], env)
        reruns = []
        for _ in range(3):
            elapsed, rerun_out = timed([*command, str(work / "config" / "projects")], env)
            assert json.loads(rerun_out)["sessions"] == [], "a re-run must find nothing new"
            reruns.append(elapsed)
        rerun = statistics.median(reruns)
        added = json.loads(again_out)["sessions"]
        # Totals over every session, from the database through the command's JSON.
        everything = json.loads(out)["sessions"] + added
        ours = cairn_totals(json.dumps({"sessions": everything}))
        first_size = size * (args.copies - 1) / args.copies
        first_lines = lines * (args.copies - 1) // args.copies
        print(
            f"cairn first import: {first:.2f} s (median of 3) for {first_size / 1e6:.1f} MB = "
            f"{first_size / 1e6 / first:.1f} MB/s, {first_lines / first:,.0f} lines/s "
            "(end to end: process start, parse, Postgres writes, rollups)"
        )
        print(f"cairn one new copy ({size / args.copies / 1e6:.2f} MB): {again:.2f} s")
        print(f"cairn re-run, nothing new: {rerun:.2f} s (median of 3)")
        print(f"cairn totals: {ours}")
        print(f"cairn file edits stored (for the IDE suggestions): {file_edits(args.database_url)}")
        print(f"load average after cairn's runs (1, 5, 15 min): {load()}")
        if args.ccusage:
            ccenv = {
                "PATH": os.environ.get("PATH", ""),
                "HOME": str(work / "home"),
                "CLAUDE_CONFIG_DIR": str(work / "config"),
            }
            (work / "home").mkdir()
            runs = []
            for _ in range(3):
                elapsed, cc_out = timed(
                    [args.ccusage, "claude", "session", "--json", "--offline"], ccenv
                )
                runs.append(elapsed)
            cc = statistics.median(runs)
            theirs = ccusage_totals(cc_out)
            print(
                f"ccusage (every run re-reads everything): {cc:.2f} s = {mb / cc:.1f} MB/s, "
                f"{lines / cc:,.0f} lines/s"
            )
            print(f"ccusage totals: {theirs}")
            same = all(
                ours[k] == theirs[k] for k in ("input", "output", "cache_creation", "cache_read")
            )
            cost_gap = abs(ours["cost"] - theirs["cost"]) if ours["cost"] is not None else None
            print(f"same token totals: {same}; cost difference: {cost_gap}")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
