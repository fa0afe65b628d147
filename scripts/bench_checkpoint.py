#!/usr/bin/env python
"""Benchmark: a checkpoint of a large real repository from artefacts + git + filesystem.

    .venv/bin/python scripts/bench_checkpoint.py [--source DIR] [--runs N]

Copies a large installed package (default: mypy's own source, ~114k non-blank Python lines) into
a temporary git repository with a real history (a start commit, a later commit, uncommitted
edits and untracked files), then times full checkpoints of it: every collector except the tool
runs (JUnit and coverage come from the real files in tests/fixtures/data), storing the checkpoint
and its measurements, and rendering the report. Uses a throwaway SQLite database unless
DATABASE_URL is set. Prints per-step and total times; the goal is < 2 s for 100k lines.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests/fixtures/data"


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, timeout=300)


def build_repo(source: Path, repo: Path) -> str:
    """A git repository holding `source`: 90 % of its files in a start commit, the rest in a
    second commit, then uncommitted edits and untracked files. Returns the start commit."""
    shutil.copytree(
        source, repo / source.name, ignore=shutil.ignore_patterns("__pycache__", "*.so")
    )
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "bench@example.org")
    git(repo, "config", "user.name", "Bench")
    files = sorted(p for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts)
    held = files[::10]
    moved = {}
    for path in held:
        moved[path] = path.read_bytes()
        path.unlink()
    (repo / "README.md").write_text("# bench\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "chore: start")
    start = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    for path, data in moved.items():
        path.write_bytes(data)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "feat: the rest (#1)")
    for path in files[5:200:20]:  # edits not yet committed
        with path.open("ab") as f:
            f.write(b"\n# edited\n")
    (repo / "notes.py").write_text("x = 1\n" * 50)  # untracked
    (repo / "build").mkdir()
    (repo / "build" / "out.bin").write_bytes(b"\0" * 4096)  # litter
    return start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = Path(sys.prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    parser.add_argument("--source", type=Path, default=default / "site-packages" / "mypy")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="cairn-bench-"))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp / 'bench.sqlite3'}")
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from quality.measure import Artefacts, measure
    from quality.report import render_markdown
    from tracking.checkpoints import checkpoint_record
    from tracking.models import Project
    from tracking.reports import report_data

    try:
        print(f"building a git repository from {args.source} …", file=sys.stderr)
        repo = tmp / "repo"
        repo.mkdir()
        start = build_repo(args.source, repo)
        call_command("migrate", verbosity=0)
        project, _ = Project.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
        artefacts = Artefacts(
            coverage=DATA / "coverage/labrea.coverage.xml",
            junit=DATA / "junit/pytest/junit.gloo.standalone.xml",
        )
        totals, steps_all = [], []
        for run in range(args.runs):
            marks: list[tuple[str, float]] = []
            began = time.perf_counter()

            def progress(step: str, marks: list[tuple[str, float]] = marks) -> None:
                marks.append((step, time.perf_counter()))

            result = measure(repo, artefacts=artefacts, start_commit=start, progress=progress)
            measured_at = time.perf_counter()
            checkpoint = checkpoint_record(
                project=project, readings=result.readings, git=result.git
            )
            stored_at = time.perf_counter()
            report = render_markdown(report_data(checkpoint))
            done = time.perf_counter()
            marks.append(("end", measured_at))
            steps = {name: marks[i + 1][1] - at for i, (name, at) in enumerate(marks[:-1])}
            steps.update(store=stored_at - measured_at, report=done - stored_at)
            totals.append(done - began)
            steps_all.append(steps)
            print(f"run {run + 1}: {done - began:.3f} s", file=sys.stderr)
        values = {r.key: r.value for r in result.readings if r.value is not None}
        print(
            f"repository: {args.source.name}, {values['fs.tracked_files']:,.0f} tracked files, "
            f"{values['fs.python_lines']:,.0f} non-blank Python lines, "
            f"{values['fs.project_bytes'] / 1e6:,.1f} MB tracked"
        )
        print(
            f"since start: {values['git.commits_since_start']:.0f} commits, "
            f"{values['git.lines_added']:,.0f} lines added, "
            f"{values['git.files_created']:,.0f} files created; "
            f"{len(result.readings)} measurements; report {len(report):,} bytes"
        )
        print(
            f"checkpoint total over {args.runs} runs: median {statistics.median(totals):.3f} s, "
            f"min {min(totals):.3f} s, max {max(totals):.3f} s"
        )
        for name in steps_all[0]:
            times = [s[name] for s in steps_all]
            print(f"  {name:<40} median {statistics.median(times) * 1000:8.1f} ms")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
