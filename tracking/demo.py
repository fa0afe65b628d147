"""Demo data for the embedded mode: a sample of what Cairn shows, clearly marked as demo.

Cairn's rule is "measured, never invented", so nothing here may pass for a real repository:
demo projects have slugs starting with `demo-`, names starting with "Demo", repository URLs under
`example.invalid`, and the pages show a banner on them. Generation is deterministic for a seed
(the same structure and figures every run; only the dates move with "now"). Invocations are stored
through `record_invocations`, so the rollups are exactly what real ingest would have made.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from tracking.ingest import InvocationEvent, record_invocations
from tracking.models import Checkpoint, Measurement, Project, Session
from tracking.selectors import DEMO_PREFIX

DEFAULT_SEED = 20260101


@dataclass(frozen=True)
class DemoProject:
    slug: str
    name: str
    level: float  # starting quality, 0-1
    trend: float  # drift of the quality per checkpoint
    team: tuple[str, ...]
    has_tests: bool = True
    branch_coverage: bool = True
    mypy: bool = True


PROJECTS = [
    DemoProject("payments-api", "Demo · payments-api", 0.80, 0.002, ("maria", "tom")),
    DemoProject("web-dashboard", "Demo · web-dashboard", 0.66, -0.002, ("lee", "sam", "ana")),
    DemoProject(
        "data-pipeline", "Demo · data-pipeline", 0.55, 0.004, ("ravi",), branch_coverage=False
    ),
    DemoProject("docs-site", "Demo · docs-site", 0.70, 0.0, ("kim",), has_tests=False, mypy=False),
]

# (skill, weight, failure probability, median seconds, error types). Two slow skills on purpose.
SKILLS = [
    ("Read", 30, 0.01, 0.15, ("FileNotFound",)),
    ("Edit", 18, 0.04, 0.3, ("StringNotFound",)),
    ("Bash", 16, 0.12, 3.0, ("ExitCode1", "Timeout")),
    ("Grep", 12, 0.0, 0.4, ()),
    ("Write", 6, 0.02, 0.2, ("PermissionDenied",)),
    ("Glob", 5, 0.0, 0.1, ()),
    ("pytest", 4, 0.2, 20.0, ("TestsFailed",)),
    ("Task", 3, 0.08, 45.0, ("SubagentError",)),
    ("WebFetch", 2, 0.15, 6.0, ("HTTPError", "Timeout")),
    ("crackerjack:run", 2, 0.25, 75.0, ("HookFailed", "Timeout")),
    ("session-buddy:checkpoint", 2, 0.03, 12.0, ("ToolError",)),
]
# Demo prices in USD per million tokens: input, output, cache creation, cache read. A model
# without a price gives a cost of None ("not known"), as Cairn does for real sessions.
PRICES = {
    "claude-sonnet-4-5": (3.0, 15.0, 3.75, 0.30),
    "claude-opus-4-1": (15.0, 75.0, 18.75, 1.50),
    "claude-haiku-4-5": (1.0, 5.0, 1.25, 0.10),
}
MODELS = ["claude-sonnet-4-5"] * 6 + ["claude-opus-4-1"] * 2 + ["claude-haiku-4-5", "local-qwen"]
TOOLS = {
    "coverage": ("coverage.py", "7.6.1", "coverage.xml"),
    "tests": ("pytest (JUnit XML)", "8.3.3", "reports/junit.xml"),
    "lint": ("ruff", "0.6.9", "reports/ruff.json"),
    "types": ("mypy", "1.11.2", "reports/mypy.txt"),
    "complexity": ("radon", "6.0.1", "radon cc --json"),
    "security": ("bandit", "1.7.10", "reports/bandit.json"),
    "git": ("git", "2.47.2", ".git"),
    "fs": ("du", "9.5", "."),
}


@dataclass
class QualityState:
    """The drifting figures behind one demo project's checkpoints."""

    level: float
    coverage: float
    tests: int
    health: float
    velocity: float


@dataclass
class SeedResult:
    projects: list[Project] = field(default_factory=list)
    sessions: int = 0
    checkpoints: int = 0
    measurements: int = 0
    invocations: int = 0


def seed_demo(
    *, days: int = 30, seed: int = DEFAULT_SEED, now: datetime | None = None
) -> SeedResult:
    """Create the demo projects with `days` days of sessions, checkpoints and invocations."""
    now = (now or timezone.now()).replace(minute=0, second=0, microsecond=0)
    result = SeedResult()
    for index, spec in enumerate(PROJECTS):
        rng = random.Random(seed * 100 + index)
        with transaction.atomic():
            _seed_project(spec, rng, days=days, now=now, result=result)
    return result


def delete_demo() -> int:
    """Delete the demo projects (and everything in them); return how many there were."""
    projects = Project.objects.filter(slug__startswith=DEMO_PREFIX)
    count = projects.count()
    projects.delete()
    return count


def _seed_project(
    spec: DemoProject, rng: random.Random, *, days: int, now: datetime, result: SeedResult
) -> None:
    project = Project.objects.create(
        name=spec.name,
        slug=DEMO_PREFIX + spec.slug,
        repository_url=f"https://example.invalid/demo/{spec.slug}.git",
        created_at=now - timedelta(days=days + 1),
    )
    state = QualityState(
        level=spec.level,
        coverage=40 + spec.level * 45,
        tests=int(80 + spec.level * 300),
        health=spec.level,
        velocity=0.6,
    )
    sessions = _make_sessions(project, spec, rng, days=days, now=now)
    checkpoints: list[tuple[Checkpoint, list[Measurement]]] = []
    events: list[InvocationEvent] = []
    for day in range(days):
        day_start = _day_start(now, days, day)
        if day_start + timedelta(hours=2) < now:
            ci = _checkpoint(
                project, None, "ci", day_start + timedelta(hours=2), spec, state, rng, None
            )
            checkpoints.append(ci)
        for session in [s for s in sessions if s.started_at.date() == day_start.date()]:
            checkpoints += _session_checkpoints(project, session, spec, state, rng, now)
            events += _session_events(session, rng, now=now, late=day >= days - 5)
    Checkpoint.objects.bulk_create([c for c, _ in checkpoints])
    measurements = []
    for checkpoint, rows in checkpoints:
        for measurement in rows:
            measurement.checkpoint = checkpoint
            measurements.append(measurement)
    Measurement.objects.bulk_create(measurements)
    by_external = {s.external_id: s for s in sessions}
    stored = record_invocations(project, events, source="transcript", sessions=by_external)
    result.projects.append(project)
    result.sessions += len(sessions)
    result.checkpoints += len(checkpoints)
    result.measurements += len(measurements)
    result.invocations += stored.accepted


def _day_start(now: datetime, days: int, day: int) -> datetime:
    """Midnight of demo day `day` (0 = the oldest; days - 1 = today)."""
    return (now - timedelta(days=days - 1 - day)).replace(hour=0)


def _hex(rng: random.Random, length: int = 40) -> str:
    return f"{rng.getrandbits(length * 4):0{length}x}"


def _make_sessions(
    project: Project, spec: DemoProject, rng: random.Random, *, days: int, now: datetime
) -> list[Session]:
    parents: list[Session] = []
    for day in range(days):
        day_start = _day_start(now, days, day)
        weekend = day_start.weekday() >= 5
        for _ in range(rng.randint(0, 1) if weekend else rng.randint(1, 4)):
            start = day_start + timedelta(hours=rng.randint(8, 19), minutes=rng.randint(0, 59))
            if start < now:
                parents.append(_session(project, spec, rng, start, now))
    # One session is still running, begun a little while ago, as on a live server.
    running = _session(project, spec, rng, now - timedelta(minutes=rng.randint(20, 90)), now)
    running.status, running.ended_at, running.end_commit = Session.ACTIVE, None, ""
    parents.append(running)
    Session.objects.bulk_create(parents)
    children = [_subagent(project, parent, rng, now) for parent in parents if rng.random() < 0.12]
    Session.objects.bulk_create(children)
    return sorted(parents + children, key=lambda s: s.started_at)


def _session(
    project: Project, spec: DemoProject, rng: random.Random, start: datetime, now: datetime
) -> Session:
    minutes = min(240.0, max(8.0, rng.lognormvariate(math.log(50), 0.6)))
    ended = min(start + timedelta(minutes=minutes), now - timedelta(minutes=1))
    model = rng.choice(MODELS)
    models = [model] + (
        ["claude-haiku-4-5"] if rng.random() < 0.3 and model != "claude-haiku-4-5" else []
    )
    tokens = {
        "input_tokens": int(rng.lognormvariate(math.log(18_000), 0.7)),
        "output_tokens": int(rng.lognormvariate(math.log(12_000), 0.7)),
        "cache_creation_tokens": int(rng.lognormvariate(math.log(80_000), 0.6)),
        "cache_read_tokens": int(rng.lognormvariate(math.log(1_200_000), 0.8)),
    }
    return Session(
        project=project,
        external_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        agent="claude-code",
        user_name=rng.choice(spec.team),
        host=f"{rng.choice(spec.team)}-laptop",
        branch="main"
        if rng.random() < 0.4
        else f"feature/{rng.choice(['auth', 'export', 'retry', 'cache', 'api-v2', 'search'])}",
        started_at=start,
        ended_at=ended,
        status=Session.ENDED,
        start_commit=_hex(rng),
        end_commit=_hex(rng),
        models_used=models,
        cost_usd=_cost(model, tokens),
        context_tokens_last=int(rng.uniform(20_000, 180_000)),
        **tokens,
    )


def _subagent(project: Project, parent: Session, rng: random.Random, now: datetime) -> Session:
    start = parent.started_at + timedelta(minutes=rng.randint(2, 10))
    tokens = {"input_tokens": rng.randint(2_000, 20_000), "output_tokens": rng.randint(500, 6_000)}
    return Session(
        project=project,
        external_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        parent=parent,
        agent="claude-code (subagent)",
        user_name=parent.user_name,
        host=parent.host,
        branch=parent.branch,
        started_at=start,
        ended_at=min(start + timedelta(minutes=rng.randint(2, 15)), now - timedelta(minutes=1)),
        status=Session.ENDED,
        models_used=["claude-haiku-4-5"],
        cost_usd=_cost("claude-haiku-4-5", tokens),
        **tokens,
    )


def _cost(model: str, tokens: dict[str, int]) -> Decimal | None:
    prices = PRICES.get(model)
    if prices is None:
        return None
    kinds = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")
    total = sum(tokens.get(k, 0) * p for k, p in zip(kinds, prices, strict=True)) / 1_000_000
    return Decimal(f"{total:.6f}")


def _session_checkpoints(
    project: Project,
    session: Session,
    spec: DemoProject,
    state: QualityState,
    rng: random.Random,
    now: datetime,
) -> list[tuple[Checkpoint, list[Measurement]]]:
    if session.parent_id is not None:
        return []
    end = session.ended_at or now
    times = [("start", session.started_at + timedelta(minutes=1))]
    span = (end - session.started_at).total_seconds()
    for _ in range(rng.randint(0, 2)):
        offset = timedelta(seconds=rng.uniform(0.2, 0.8) * span)
        times.append((rng.choice(["manual", "auto"]), session.started_at + offset))
    if session.ended_at:
        times.append(("end", session.ended_at))
    times.sort(key=lambda t: t[1])
    start_cov: list[float | None] = []
    made = []
    for kind, at in times:
        cp = _checkpoint(
            project, session, kind, at, spec, state, rng, start_cov[0] if start_cov else None
        )
        if not start_cov:
            start_cov.append(
                next((m.value for m in cp[1] if m.key == "coverage.line_percent"), None)
            )
        made.append(cp)
    return made


def _drift(state: QualityState, spec: DemoProject, rng: random.Random) -> None:
    state.level = min(0.97, max(0.25, state.level + rng.gauss(spec.trend, 0.012)))
    state.coverage = min(96.0, max(15.0, state.coverage + rng.gauss(spec.trend * 60, 0.5)))
    state.tests += rng.choice([0, 0, 1, 2, 3])
    state.health = min(0.98, max(0.3, state.health + rng.gauss(0, 0.01)))
    state.velocity = min(0.98, max(0.2, state.velocity + rng.gauss(0, 0.04)))


def _figures(state: QualityState, spec: DemoProject, rng: random.Random, kind: str) -> dict:
    """One checkpoint's figures: key → (value or None, reason when None)."""
    bad = 1 - state.level
    failed = rng.choice([1, 1, 2, 3]) if rng.random() < 0.12 else 0
    errors = 1 if rng.random() < 0.03 else 0
    skipped = rng.randint(0, 5)
    figures: dict[str, tuple[float | None, str]] = {}
    no_cov = "no coverage report found (looked for coverage.xml, .coverage, htmlcov/)"
    no_junit = "no JUnit XML report found (looked for reports/junit.xml, junit.xml)"
    if spec.has_tests:
        figures["coverage.line_percent"] = (round(state.coverage + rng.gauss(0, 0.3), 1), "")
        figures["coverage.branch_percent"] = (
            (round(state.coverage - 9 + rng.gauss(0, 1), 1), "")
            if spec.branch_coverage
            else (None, "coverage.xml has no branch data: the run did not use --branch")
        )
        figures["tests.total"] = (state.tests, "")
        figures["tests.passed"] = (state.tests - failed - errors - skipped, "")
        figures["tests.failed"] = (failed, "")
        figures["tests.errors"] = (errors, "")
        figures["tests.skipped"] = (skipped, "")
        figures["tests.duration_s"] = (round(state.tests * 0.06 + rng.uniform(2, 8), 2), "")
    else:
        for key in ("coverage.line_percent", "coverage.branch_percent"):
            figures[key] = (None, no_cov)
        for key in ("tests.total", "tests.passed", "tests.failed", "tests.errors", "tests.skipped"):
            figures[key] = (None, no_junit)
        figures["tests.duration_s"] = (None, no_junit)
    figures["lint.findings"] = (max(0, int(rng.gauss(bad * 40, 3))), "")
    figures["types.errors"] = (
        (max(0, int(rng.gauss(bad * 14 - 2, 2))), "")
        if spec.mypy
        else (None, "mypy is not installed in the project's environment")
    )
    figures["complexity.max"] = (max(4, int(rng.gauss(9 + bad * 18, 2.5))), "")
    figures["complexity.mean"] = (round(1.8 + bad * 4 + rng.uniform(-0.3, 0.3), 2), "")
    figures["security.findings.high"] = (1 if rng.random() < 0.05 else 0, "")
    if kind == "ci":
        why = "a CI checkpoint has no session start to compare with"
        for key in (
            "git.commits_since_start",
            "git.lines_added",
            "git.lines_removed",
            "git.files_created",
        ):
            figures[key] = (None, why)
    else:
        progress = 0 if kind == "start" else 1
        figures["git.commits_since_start"] = (progress * rng.randint(1, 6), "")
        figures["git.lines_added"] = (progress * rng.randint(20, 900), "")
        figures["git.lines_removed"] = (progress * rng.randint(0, 300), "")
        figures["git.files_created"] = (progress * rng.randint(0, 6), "")
    figures["git.dirty"] = (0 if kind in ("ci", "end") or rng.random() < 0.5 else 1, "")
    figures["fs.project_bytes"] = (int(rng.uniform(40e6, 60e6) + state.tests * 1e5), "")
    figures["fs.cleanup_candidates"] = (rng.randint(0, 900), "")
    return figures


UNITS = {"coverage": "%", "duration_s": "s", "bytes": "B", "dirty": "bool"}


def _unit(key: str) -> str:
    return next((u for part, u in UNITS.items() if part in key), "count")


def _score(figures: dict, state: QualityState) -> tuple[dict, float]:
    """Part scores from the figures; components without a measurement are left out."""
    cov, lint = figures["coverage.line_percent"][0], figures["lint.findings"][0]
    types, cx = figures["types.errors"][0], figures["complexity.max"][0]
    components = [  # (points, earned or None)
        (15, None if cov is None else 15 * cov / 100),
        (10, max(0.0, 10 * (1 - lint / 40))),
        (10, None if types is None else max(0.0, 10 * (1 - types / 20))),
        (5, 5.0 if cx <= 10 else max(0.0, 5 - (cx - 10) * 0.5)),
    ]
    code = [e for _, e in components if e is not None]
    parts = {
        "score_code_quality": round(sum(code), 1),
        "score_project_health": round(30 * state.health, 1),
        "score_dev_velocity": round(20 * state.velocity, 1),
        "score_security": 10.0 if figures["security.findings.high"][0] == 0 else 4.0,
    }
    measured = 100 - sum(p for p, e in components if e is None)
    return parts, measured


GATES = [
    ("tests.failed", "<=", 0),
    ("security.findings.high", "<=", 0),
    ("complexity.max", "<=", 15),
    ("types.errors", "<=", 0),
]


def _gates(figures: dict, start_cov: float | None) -> list[dict]:
    conditions = list(GATES)
    if start_cov is not None:
        conditions.insert(1, ("coverage.line_percent", ">=", start_cov))
    results = []
    for metric, op, threshold in conditions:
        value = figures[metric][0]
        passed = (
            None if value is None else (value <= threshold if op == "<=" else value >= threshold)
        )
        results.append(
            {"metric": metric, "op": op, "threshold": threshold, "value": value, "passed": passed}
        )
    return results


def _recommendations(figures: dict) -> list[dict]:
    rules = [
        (
            "coverage.line_percent",
            lambda v: v < 70,
            "Raise line coverage above 70% (now {v:.1f}%).",
        ),
        (
            "tests.failed",
            lambda v: v > 0,
            "Fix the {v:.0f} failing test(s) before the next commit.",
        ),
        (
            "complexity.max",
            lambda v: v > 15,
            "Split the most complex function (cyclomatic complexity {v:.0f}).",
        ),
        ("lint.findings", lambda v: v > 10, "Fix the {v:.0f} ruff findings."),
        ("types.errors", lambda v: v > 0, "Fix the {v:.0f} mypy error(s)."),
    ]
    recs = []
    for key, applies, text in rules:
        value = figures[key][0]
        if value is not None and applies(value):
            recs.append({"text": text.format(v=value), "measurement": key})
    return recs[:3]


def _debt(figures: dict) -> tuple[str, int]:
    minutes = (
        figures["lint.findings"][0] * 5
        + (figures["types.errors"][0] or 0) * 10
        + max(0, figures["complexity.max"][0] - 15) * 30
        + figures["security.findings.high"][0] * 60
    )
    level = next(
        lvl
        for lvl, limit in (("A", 30), ("B", 120), ("C", 480), ("D", 960), ("E", 10**9))
        if minutes <= limit
    )
    return level, int(minutes)


def _label(total: float) -> str:
    return "Excellent" if total >= 80 else "Good" if total >= 60 else "Needs attention"


def _checkpoint(
    project: Project,
    session: Session | None,
    kind: str,
    at: datetime,
    spec: DemoProject,
    state: QualityState,
    rng: random.Random,
    start_cov: float | None,
) -> tuple[Checkpoint, list[Measurement]]:
    _drift(state, spec, rng)
    figures = _figures(state, spec, rng, kind)
    parts, measured = _score(figures, state)
    total = round(sum(parts.values()) / measured * 100, 1)
    gates = _gates(figures, start_cov)
    debt_level, debt_minutes = _debt(figures)
    checkpoint = Checkpoint(
        project=project,
        session=session,
        kind=kind,
        commit=_hex(rng),
        branch=session.branch if session else "main",
        dirty=bool(figures["git.dirty"][0]),
        score_total=total,
        points_measured=measured,
        stars=round(total / 20),
        label=_label(total),
        gate_verdict=Checkpoint.FAILED
        if any(g["passed"] is False for g in gates)
        else Checkpoint.PASSED,
        gate_results=gates,
        debt_level=debt_level,
        debt_minutes=debt_minutes,
        recommendations=_recommendations(figures),
        created_at=at,
        **parts,
    )
    measurements = []
    for key, (value, reason) in figures.items():
        tool, version, artefact = TOOLS[key.split(".")[0]]
        measurements.append(
            Measurement(
                key=key,
                value=value,
                unit=_unit(key),
                tool=tool if value is not None else "",
                tool_version=version if value is not None else "",
                artefact=artefact if value is not None else "",
                measured_at=at - timedelta(seconds=rng.randint(2, 40)),
                reason=reason,
            )
        )
    return checkpoint, measurements


def _session_events(
    session: Session, rng: random.Random, *, now: datetime, late: bool
) -> list[InvocationEvent]:
    skills = SKILLS[:6] if session.parent_id else SKILLS
    weights = [s[1] for s in skills]
    end = session.ended_at or now
    span = max(60.0, (end - session.started_at).total_seconds())
    count = rng.randint(4, 12) if session.parent_id else rng.randint(15, 70)
    offsets = sorted(rng.uniform(0, span) for _ in range(count))
    events = []
    for i, offset in enumerate(offsets):
        name, _, fail_p, median, error_types = rng.choices(skills, weights)[0]
        # A regression to find: the test runner got slower in the last days of the demo.
        if late and name == "pytest":
            median *= 2.5
        open_end = session.ended_at is None and i >= count - 3
        completed = None if open_end else rng.random() >= fail_p
        phase = (
            "explore" if offset < span * 0.25 else "test" if offset > span * 0.75 else "implement"
        )
        events.append(
            InvocationEvent(
                key=f"demo-{session.external_id}-{i}",
                session=session.external_id,
                skill=name,
                invoked_at=session.started_at + timedelta(seconds=offset),
                completed=completed,
                duration_s=None
                if open_end
                else round(rng.lognormvariate(math.log(median), 0.6), 3),
                phase=phase,
                error_type=rng.choice(error_types) if completed is False and error_types else "",
            )
        )
    return events
