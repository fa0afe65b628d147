"""Data and helpers shared by the MCP tests over stdio and over HTTP."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
from mcp import Client, MCPError, StdioServerParameters

from analytics.dependencies import refresh_dependencies
from analytics.experiments.exposure import expose
from analytics.models import Experiment, SkillAnomaly
from quality.collectors.base import Source, measured
from quality.collectors.git import GitInfo
from tests.analytics.servers import ROOT
from tracking.checkpoints import checkpoint_record
from tracking.ingest import InvocationEvent, record_invocations
from tracking.models import Checkpoint, Project, Session

SRC = Source(tool="test", tool_version="1", artefact="fixture")
# The tools every caller gets; `checkpoint` is added over stdio with a write key.
READ_TOOLS = {
    "latest_report",
    "session_summary",
    "quality_trend",
    "skill_stats",
    "anomalies",
    "trend",
    "live_snapshot",
    "related_skills",
    "recommendations",
    "experiment_results",
}


@dataclass
class Recorded:
    project: Project
    session: Session
    start: Checkpoint
    end: Checkpoint


def readings(coverage: float, tests: int) -> list:
    return [
        measured("coverage.line_percent", coverage, SRC),
        measured("tests.total", tests, SRC, ids=[f"t::{i}" for i in range(tests)]),
        measured("tests.failed", 0, SRC),
    ]


def record_session(project: Project) -> Recorded:
    """An active session with a start and a later checkpoint (coverage 60 → 80), three tool
    calls and a stored anomaly, so every tool has something to answer."""
    now = datetime.now(UTC)
    session = Session.objects.create(
        project=project, external_id="s-mcp", started_at=now - timedelta(hours=2),
        input_tokens=1200, output_tokens=340, cost_usd="0.125000",
    )  # fmt: skip
    git = GitInfo(head="a" * 40, branch="main", dirty=False)
    start = checkpoint_record(
        project=project, readings=readings(60.0, 4), git=git, session=session, kind="start"
    )
    # A manual checkpoint, not an end one: the session stays active for the live snapshot.
    end = checkpoint_record(project=project, readings=readings(80.0, 6), git=git, session=session)
    calls = [("Bash", True), ("Bash", False), ("Read", True)]
    events = [
        InvocationEvent(
            key=f"tu-{i}", session="s-mcp", skill=skill, invoked_at=now - timedelta(minutes=i),
            completed=ok, duration_s=1.5,
        )
        for i, (skill, ok) in enumerate(calls)
    ]  # fmt: skip
    record_invocations(project, events, source="api")
    SkillAnomaly.objects.create(
        project=project, skill="Bash", metric="completion_rate", anomaly_type="drop",
        opened_at=now, last_seen_at=now, window_start=now - timedelta(days=1), window_end=now,
        baseline_value=0.9, baseline_n=40, observed_value=0.5, observed_n=2, p_value=0.01,
        q_value=0.02, deviation_score=3, peak_deviation_score=3, method="test",
        last_evaluated_at=now,
    )  # fmt: skip
    return Recorded(project, session, start, end)


def record_usage(project: Project) -> Experiment:
    """What the analytics tools read: 60 sessions in the last 90 days (20 with pytest and ruff,
    10 with each alone, 20 with Bash) and the worker's dependency pass over them; twelve named
    users (six completed pytest, ruff and mypy, five Bash, and zoe completed pytest and failed
    ruff); and a stopped experiment with ten sessions exposed."""
    now = datetime.now(UTC)
    plan = [("pytest", "ruff")] * 20 + [("pytest",)] * 10 + [("ruff",)] * 10 + [("Bash",)] * 20
    users = [(f"u-{i}", [("pytest", True), ("ruff", True), ("mypy", True)]) for i in range(6)]
    users += [(f"b-{i}", [("Bash", True)]) for i in range(5)]
    users.append(("zoe", [("pytest", True), ("ruff", False)]))
    sessions = [(f"in-{i}", [(skill, True) for skill in skills]) for i, skills in enumerate(plan)]
    sessions += [(f"{user}-session", calls) for user, calls in users]
    events = [
        InvocationEvent(
            key=f"{name}-{k}", session=name, skill=skill, completed=ok, duration_s=1.0,
            invoked_at=now - timedelta(days=40, hours=i) + timedelta(minutes=k),
        )
        for i, (name, calls) in enumerate(sessions)
        for k, (skill, ok) in enumerate(calls)
    ]  # fmt: skip
    record_invocations(project, events, source="api")
    for user, _ in users:
        Session.objects.filter(project=project, external_id=f"{user}-session").update(
            user_name=user
        )
    # Sessions of 40 days ago are over: the live snapshot's active count stays record_session's.
    names = [name for name, _ in sessions]
    Session.objects.filter(project=project, external_id__in=names).update(
        status=Session.ENDED, ended_at=now - timedelta(days=30)
    )
    # A pass ending before record_session's session started, whatever the minute now.
    refresh_dependencies(now - timedelta(hours=3))
    experiment = Experiment.objects.create(
        project=project, key="tests-first", name="Write the test first", unit="session",
        arms=[{"key": "control", "weight": 0.5, "context": ""},
              {"key": "tests-first", "weight": 0.5, "context": "Write the failing test first."}],
        metrics=["completion_rate"],
    )  # fmt: skip
    experiment.start(now - timedelta(hours=1))
    for i in range(10):
        expose(experiment, f"in-{i}", now - timedelta(minutes=30))
    experiment.stop(now)
    return experiment


def stdio_params(database: str, *args: str) -> StdioServerParameters:
    """`manage.py mcp` on the test database, as `claude mcp add` would start it."""
    env = dict(os.environ, DATABASE_URL=database, DJANGO_SETTINGS_MODULE="config.settings")
    return StdioServerParameters(
        command=sys.executable, args=["manage.py", "mcp", *args], env=env, cwd=str(ROOT)
    )


def session_calls(server: Any, calls: list[tuple[str, Any]], **client: Any) -> list[Any]:
    """Connect the SDK's own client to `server` and run `calls` ((method, argument) pairs) in
    one connection; returns their results in order (an MCPError for a refused read)."""

    async def run() -> list[Any]:
        results: list[Any] = []
        async with Client(server, read_timeout_seconds=60, **client) as mcp:
            for method, argument in calls:
                if method == "list_tools":
                    results.append(await mcp.list_tools())
                elif method == "list_resources":
                    results.append(await mcp.list_resources())
                elif method == "read_resource":
                    try:
                        results.append(await mcp.read_resource(argument))
                    except MCPError as error:  # a refused read is the result, as a tool error
                        results.append(error)
                else:
                    name, arguments = argument
                    results.append(await mcp.call_tool(name, arguments))
        return results

    return anyio.run(run)


def answer(result: Any) -> dict:
    """A tool result's JSON, checked to be the same in the structured and the text content."""
    assert not result.is_error, result.content[0].text
    assert json.loads(result.content[1].text) == result.structured_content
    return result.structured_content
