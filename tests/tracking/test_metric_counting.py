"""How tracking/instruments.py counts: batch observations equal one-by-one ones, labels stay in
their closed sets, collectors are timed from progress messages, dead processes are swept."""

from __future__ import annotations

import os
import subprocess
import sys

from prometheus_client import REGISTRY, CollectorRegistry, Histogram, generate_latest

from tracking import instruments


def _histogram(registry: CollectorRegistry) -> Histogram:
    return Histogram("t_seconds", "t", ["k"], buckets=(0.1, 1.0, 10.0), registry=registry)


def test_observe_many_gives_what_observing_each_value_gives():
    values = [0.0, 0.1, 0.1000001, 0.5, 1.0, 9.99, 10.0, 10.5, 1e6, 3.0]
    one, many = CollectorRegistry(), CollectorRegistry()
    single = _histogram(one)
    for v in values:
        single.labels("a").observe(v)
    instruments.observe_many(_histogram(many).labels("a"), values)
    assert generate_latest(many) == generate_latest(one)
    text = generate_latest(many).decode()
    # Cumulative buckets: 0.0 and 0.1 in le=0.1; 5 up to 1; 8 up to 10; all 10.
    assert 't_seconds_bucket{k="a",le="0.1"} 2.0' in text
    assert 't_seconds_bucket{k="a",le="1.0"} 5.0' in text
    assert 't_seconds_bucket{k="a",le="10.0"} 8.0' in text
    assert 't_seconds_count{k="a"} 10.0' in text


def test_models_map_to_families():
    assert instruments.model_family("claude-sonnet-4-5-20250929") == "claude-sonnet"
    assert instruments.model_family("claude-opus-4-1") == "claude-opus"
    assert instruments.model_family("claude-3-5-haiku-20241022") == "claude-haiku"
    assert instruments.model_family("<synthetic>") == "synthetic"
    assert instruments.model_family("gpt-4o") == "gpt"
    assert instruments.model_family("o3-mini") == "o-series"
    assert instruments.model_family("") == "unknown"
    assert instruments.model_family("llama-3") == "other"


def test_agents_map_to_the_closed_set():
    assert instruments.agent_label("claude-code (subagent)") == "claude-code"
    assert instruments.agent_label("") == "unknown"
    assert instruments.agent_label("my agent\nwith text") == "other"


def test_collectors_are_timed_from_progress_messages():
    seen: list[str] = []
    collectors = ("git", "tests", "ruff", "mypy")
    counts = {c: _count(c) for c in collectors}
    timer = instruments.CollectorTimer(seen.append)
    for message in ("git", "coverage and tests", "pytest: 3 passed", "ruff", "storing"):
        timer(message)
    timer.done()
    assert seen == ["git", "coverage and tests", "pytest: 3 passed", "ruff", "storing"]
    # One observation each for git, tests (its sub-step message included) and ruff; none
    # for mypy, which was not announced.
    assert {c: _count(c) - counts[c] for c in collectors} == {
        "git": 1,
        "tests": 1,
        "ruff": 1,
        "mypy": 0,
    }


def _count(collector: str) -> float:
    name = "cairn_checkpoint_collect_duration_seconds_count"
    return REGISTRY.get_sample_value(name, {"collector": collector}) or 0.0


def test_the_sweep_removes_live_gauge_files_of_dead_processes_only(tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],  # noqa: S603
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    alive = str(os.getpid())
    names = [
        f"gauge_livesum_{dead}.db",
        f"gauge_livesum_{alive}.db",
        f"counter_{dead}.db",
        f"gauge_all_{dead}.db",
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    assert instruments.sweep_dead_processes(tmp_path) == [int(dead)]
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(names[1:])
