"""Demo data for the embedded mode: a sample of what Cairn shows, clearly marked as demo.

Cairn's rule is "measured, never invented", so nothing here may pass for a real repository:
demo projects have slugs starting with `demo-`, names starting with "Demo", repository URLs under
`example.invalid`, and the pages show a banner on them. Every demo measurement names
`seed_demo` as its tool and a generated sample as its artefact.

The demo makes up only raw measurements (vocabulary keys, some "not measured" with a reason).
Each checkpoint is stored through `tracking.checkpoints.checkpoint_record`, so its score, stars,
label, gate verdict, debt and recommendations come from the one definition in `quality/`, as for
a real checkpoint; invocations go through `record_invocations`, so the rollups are exactly what
real ingest would have made. Generation is deterministic for a seed (the same structure and
figures every run; only the dates move with "now").
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

from integrations.claude_code.accounting import Usage
from integrations.claude_code.pricing import cost_of
from lib.hours import floor_hour
from quality.collectors import junit
from quality.collectors.base import Reading, Source, measured, not_measured
from quality.collectors.git import GitInfo
from tracking.checkpoints import checkpoint_record
from tracking.ingest import InvocationEvent, record_invocations
from tracking.models import Measurement, Project, Session
from tracking.selectors import DEMO_PREFIX

DEFAULT_SEED = 20260101
MICRO_USD = Decimal("0.000001")  # Session.cost_usd keeps 6 decimals
DEMO_TOOL = "seed_demo (demo data)"


@dataclass(frozen=True)
class DemoProject:
    """The character of one demo repository; the figures drift around it."""

    slug: str
    name: str
    level: float  # starting code quality, 0-1
    trend: float  # drift of the quality per checkpoint
    team: tuple[str, ...]
    has_tests: bool = True
    branch_coverage: bool = True
    mypy: bool = True
    lockfile: bool = True
    env_ignored: bool = True
    ci_files: int = 2
    docs_pages: int = 6
    conventional: float = 0.85  # share of Conventional Commits subjects
    issue_refs: float = 0.5  # share of subjects that reference an issue
    feature_branches: int = 3


PROJECTS = [
    DemoProject("payments-api", "Demo · payments-api", 0.80, 0.002, ("maria", "tom")),
    DemoProject(
        "web-dashboard", "Demo · web-dashboard", 0.66, -0.002, ("lee", "sam", "ana"),
        ci_files=1, docs_pages=2, conventional=0.55, issue_refs=0.3, feature_branches=2,
    ),
    DemoProject(
        "data-pipeline", "Demo · data-pipeline", 0.55, 0.004, ("ravi",), branch_coverage=False,
        env_ignored=False, ci_files=1, docs_pages=0, conventional=0.3, issue_refs=0.1,
        feature_branches=1,
    ),
    DemoProject(
        "docs-site", "Demo · docs-site", 0.70, 0.0, ("kim",), has_tests=False, mypy=False,
        lockfile=False, ci_files=1, docs_pages=40, conventional=0.6, issue_refs=0.0,
        feature_branches=0,
    ),
]  # fmt: skip

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
# Costs come from Cairn's one price table (integrations.claude_code.pricing). "local-qwen" has
# no price there: its sessions cost None ("not known"), as Cairn shows real sessions.
MODELS = ["claude-sonnet-4-5"] * 6 + ["claude-opus-4-5"] * 2 + ["claude-haiku-4-5", "local-qwen"]
# What each group of demo figures imitates, named in its measurements' artefact.
IMITATES = {
    "coverage": "a coverage.py coverage.xml",
    "tests": "a pytest JUnit XML report",
    "files": "the repository's tracked files",
    "source": "the Python source (ast)",
    "secrets": "a secret scan of tracked files",
    "lint": "ruff check --output-format json",
    "types": "mypy -O json",
    "complexity": "radon cc -j",
    "security": "bandit -r . -f json",
    "git": "git status, git log and git diff",
}
COVERAGE_KEYS = (
    "coverage.line_percent",
    "coverage.branch_percent",
    "coverage.statements",
    "coverage.covered",
    "coverage.missing",
)
SINCE_START_KEYS = (
    "git.commits_since_start",
    "git.merges_since_start",
    "git.lines_added",
    "git.lines_removed",
    "git.files_created",
)
NO_COVERAGE = "no coverage report found (looked for coverage.xml, .coverage, htmlcov/)"
NO_JUNIT = "no JUnit XML report found (looked for reports/junit.xml, junit.xml)"


@dataclass
class RepoState:
    """The drifting state of one demo repository behind its checkpoints' measurements."""

    level: float
    coverage: float
    tests: int
    test_files: int
    python_lines: int
    commits_total: int
    annotations: float
    docstrings: float
    lockfile_at: datetime | None

    @classmethod
    def initial(cls, spec: DemoProject, since: datetime) -> RepoState:
        return cls(
            level=spec.level,
            coverage=40 + spec.level * 45,
            tests=int(80 + spec.level * 300) if spec.has_tests else 0,
            test_files=int(6 + spec.level * 20) if spec.has_tests else 0,
            python_lines=int(6_000 + spec.level * 9_000),
            commits_total=int(200 + spec.level * 600),
            annotations=35 + spec.level * 55,
            docstrings=25 + spec.level * 50,
            lockfile_at=since - timedelta(days=50) if spec.lockfile else None,
        )

    def drift(self, spec: DemoProject, rng: random.Random, at: datetime) -> None:
        """The repository a little later: quality wanders along the project's trend."""
        self.level = min(0.97, max(0.25, self.level + rng.gauss(spec.trend, 0.012)))
        self.coverage = min(96.0, max(15.0, self.coverage + rng.gauss(spec.trend * 60, 0.5)))
        self.annotations = min(99.0, max(10.0, self.annotations + rng.gauss(spec.trend * 40, 0.4)))
        self.docstrings = min(99.0, max(5.0, self.docstrings + rng.gauss(0, 0.4)))
        if spec.has_tests:
            self.tests += rng.choice([0, 0, 1, 2, 3])
            self.test_files += rng.random() < 0.05
        self.python_lines += rng.randint(0, 60)
        self.commits_total += rng.randint(0, 3)
        if self.lockfile_at is not None and rng.random() < 0.03:
            self.lockfile_at = at - timedelta(hours=rng.randint(1, 12))


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
    now = floor_hour(now or timezone.now())
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
    state = RepoState.initial(spec, now - timedelta(days=days))
    sessions = _make_sessions(project, spec, rng, days=days, now=now)
    checkpoints = 0
    events: list[InvocationEvent] = []
    for day in range(days):
        day_start = _day_start(now, days, day)
        if day_start + timedelta(hours=2) < now:
            _record(project, None, "ci", day_start + timedelta(hours=2), spec, state, rng)
            checkpoints += 1
        for session in [s for s in sessions if s.started_at.date() == day_start.date()]:
            checkpoints += _record_session(project, session, spec, state, rng, now)
            events += _session_events(session, rng, now=now, late=day >= days - 5)
    by_external = {s.external_id: s for s in sessions}
    stored = record_invocations(project, events, source="transcript", sessions=by_external)
    result.projects.append(project)
    result.sessions += len(sessions)
    result.checkpoints += checkpoints
    result.measurements += Measurement.objects.filter(checkpoint__project=project).count()
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
    # The demo's cache writes are 5-minute ones (no 1-hour split), as in a transcript without it.
    usage = Usage(
        input=tokens.get("input_tokens", 0),
        output=tokens.get("output_tokens", 0),
        cache_creation=tokens.get("cache_creation_tokens", 0),
        cache_read=tokens.get("cache_read_tokens", 0),
    )
    cost = cost_of({model: usage})
    return None if cost is None else cost.quantize(MICRO_USD)


def _record_session(
    project: Project,
    session: Session,
    spec: DemoProject,
    state: RepoState,
    rng: random.Random,
    now: datetime,
) -> int:
    """Record a session's checkpoints in time order (the first is its baseline); how many."""
    if session.parent_id is not None:
        return 0
    end = session.ended_at or now
    times = [("start", session.started_at + timedelta(minutes=1))]
    span = (end - session.started_at).total_seconds()
    for _ in range(rng.randint(0, 2)):
        offset = timedelta(seconds=rng.uniform(0.2, 0.8) * span)
        times.append((rng.choice(["manual", "auto"]), session.started_at + offset))
    if session.ended_at:
        times.append(("end", session.ended_at))
    times.sort(key=lambda t: t[1])
    for kind, at in times:
        _record(project, session, kind, at, spec, state, rng)
    return len(times)


def _record(
    project: Project,
    session: Session | None,
    kind: str,
    at: datetime,
    spec: DemoProject,
    state: RepoState,
    rng: random.Random,
) -> None:
    """One demo checkpoint: made-up raw measurements, stored and scored as a real one is."""
    state.drift(spec, rng, at)
    if session is None:
        head, branch = _hex(rng), "main"
    else:
        head = {"start": session.start_commit, "end": session.end_commit}.get(kind) or _hex(rng)
        branch = session.branch
    dirty = kind not in ("ci", "end") and rng.random() < 0.5
    readings = _readings(spec, state, rng, at=at, kind=kind, branch=branch, dirty=dirty)
    checkpoint_record(
        project=project,
        readings=readings,
        git=GitInfo(head=head, branch=branch, dirty=dirty),
        session=session,
        kind=kind,
        created_at=at,
    )


def _readings(
    spec: DemoProject,
    state: RepoState,
    rng: random.Random,
    *,
    at: datetime,
    kind: str,
    branch: str,
    dirty: bool,
) -> list[Reading]:
    """The raw measurements of one demo checkpoint, as the collectors would report them."""

    def source(group: str) -> Source:
        return Source(
            tool=DEMO_TOOL,
            artefact=f"generated sample of {IMITATES[group]}",
            measured_at=at - timedelta(seconds=rng.randint(2, 40)),
        )

    bad = 1 - state.level
    readings = _coverage(spec, state, rng, source("coverage"))
    readings += _tests(spec, state, rng, source("tests"))
    readings += _files(spec, state, rng, source("files"))

    src = source("source")
    readings += [
        measured("types.annotation_percent", round(state.annotations, 2), src),
        measured("docs.docstring_percent", round(state.docstrings, 2), src),
    ]
    src = source("secrets")
    readings.append(measured("security.secret_files", int(rng.random() < 0.02), src))

    src = source("lint")
    high, medium = max(0, int(rng.gauss(bad * 4 - 0.5, 1))), max(0, int(rng.gauss(bad * 15, 3)))
    low = max(0, int(rng.gauss(bad * 30, 4)))
    readings += [
        measured("lint.findings", high + medium + low, src),
        measured("lint.findings.high", high, src),
        measured("lint.findings.medium", medium, src),
        measured("lint.findings.low", low, src),
    ]
    src = source("types")
    if spec.mypy:
        readings.append(measured("types.errors", max(0, int(rng.gauss(bad * 14 - 2, 2))), src))
    else:
        readings += not_measured(
            ["types.errors"], src, "mypy is not installed in the project's environment"
        )

    src = source("complexity")
    worst = max(4, int(rng.gauss(9 + bad * 18, 2.5)))
    readings += [
        measured("complexity.max", worst, src),
        measured("complexity.mean", round(1.8 + bad * 4 + rng.uniform(-0.3, 0.3), 2), src),
        measured("complexity.over_15", 0 if worst <= 15 else rng.randint(1, 3), src),
    ]
    src = source("security")
    readings += [
        measured("security.findings.high", int(rng.random() < 0.05), src),
        measured("security.findings.medium", rng.choice([0, 0, 0, 1, 2]), src),
        measured("security.findings.low", rng.randint(0, 6), src),
    ]
    readings += _git(spec, state, rng, source("git"), at=at, kind=kind, branch=branch, dirty=dirty)
    return readings


def _coverage(
    spec: DemoProject, state: RepoState, rng: random.Random, src: Source
) -> list[Reading]:
    if not spec.has_tests:
        return not_measured(COVERAGE_KEYS, src, NO_COVERAGE)
    statements = int(state.python_lines * 0.55)
    covered = round(statements * min(99.0, state.coverage + rng.gauss(0, 0.3)) / 100)
    readings = [
        measured("coverage.line_percent", round(100 * covered / statements, 2), src),
        measured("coverage.statements", statements, src),
        measured("coverage.covered", covered, src),
        measured("coverage.missing", statements - covered, src),
    ]
    if spec.branch_coverage:
        branch = min(99.0, max(0.0, state.coverage - 9 + rng.gauss(0, 1)))
        readings.append(measured("coverage.branch_percent", round(branch, 2), src))
    else:
        reason = "coverage.xml has no branch data: the run did not use --branch"
        readings += not_measured(["coverage.branch_percent"], src, reason)
    return readings


def _tests(spec: DemoProject, state: RepoState, rng: random.Random, src: Source) -> list[Reading]:
    if not spec.has_tests:
        return not_measured(junit.KEYS, src, NO_JUNIT)
    failed = rng.choice([1, 1, 2, 3]) if rng.random() < 0.12 else 0
    errors = int(rng.random() < 0.03)
    skipped = rng.randint(0, 5)
    # Test ids only grow, so `tests.created` (computed by tracking.checkpoints) sees the new ones.
    files = max(1, state.test_files)
    ids = [
        f"tests.test_{spec.slug.replace('-', '_')}_{i % files}::test_{i}"
        for i in range(state.tests)
    ]
    return [
        measured("tests.total", state.tests, src, ids=ids),
        measured("tests.passed", state.tests - failed - errors - skipped, src),
        measured("tests.failed", failed, src),
        measured("tests.errors", errors, src),
        measured("tests.skipped", skipped, src),
        measured("tests.duration_s", round(state.tests * 0.06 + rng.uniform(2, 8), 2), src),
    ]


def _files(spec: DemoProject, state: RepoState, rng: random.Random, src: Source) -> list[Reading]:
    tracked = 40 + state.python_lines // 90 + state.test_files + spec.docs_pages
    project_bytes = state.python_lines * 38 + spec.docs_pages * 6_000 + 250_000
    litter = rng.randint(0, 900)
    litter_bytes = litter * rng.randint(20_000, 120_000)
    return [
        measured("tests.test_files", state.test_files, src),
        measured("tests.has_conftest", spec.has_tests, src),
        measured("docs.readme", True, src),
        measured("docs.pages", spec.docs_pages, src),
        measured("project.has_pyproject", True, src),
        measured("project.has_lockfile", spec.lockfile, src),
        measured("project.ci_files", spec.ci_files, src),
        measured("security.env_ignored", spec.env_ignored, src),
        measured("fs.tracked_files", tracked, src),
        measured("fs.python_lines", state.python_lines, src),
        measured("fs.project_bytes", project_bytes, src),
        measured("fs.total_bytes", project_bytes + litter_bytes + 180_000_000, src),
        measured("fs.cleanup_candidates", litter, src),
        measured("fs.cleanup_bytes", litter_bytes, src),
    ]


def _git(
    spec: DemoProject,
    state: RepoState,
    rng: random.Random,
    src: Source,
    *,
    at: datetime,
    kind: str,
    branch: str,
    dirty: bool,
) -> list[Reading]:
    subjects = max(1, int(rng.gauss(35 * state.level, 4)))
    readings = [
        measured("git.is_repo", True, src),
        measured("git.dirty", dirty, src),
        measured("git.modified_files", rng.randint(1, 8) if dirty else 0, src),
        measured("git.untracked_files", rng.randint(0, 3) if dirty else 0, src),
        measured("git.commits_total", state.commits_total, src),
        measured("git.commits_30d", subjects, src),
        measured("git.conventional_share", _share(spec.conventional, subjects, rng), src),
        measured("git.issue_ref_share", _share(spec.issue_refs, subjects, rng), src),
        measured("git.feature_branches", spec.feature_branches, src),
    ]
    if branch == "main":
        readings += [measured("git.ahead", 0, src), measured("git.behind", rng.randint(0, 2), src)]
    else:
        readings += not_measured(["git.ahead", "git.behind"], src, "the branch has no upstream")
    if kind == "ci":
        readings += not_measured(SINCE_START_KEYS, src, "no session start commit to compare with")
    else:
        progress = 0 if kind == "start" else 1
        readings += [
            measured("git.commits_since_start", progress * rng.randint(1, 6), src),
            measured("git.merges_since_start", 0, src),
            measured("git.lines_added", progress * rng.randint(20, 900), src),
            measured("git.lines_removed", progress * rng.randint(0, 300), src),
            measured("git.files_created", progress * rng.randint(0, 6), src),
        ]
    if state.lockfile_at is None:
        readings += not_measured(["git.lockfile_age_days"], src, "no lockfile is committed")
    else:
        age = (at - state.lockfile_at).total_seconds() / 86_400
        readings.append(measured("git.lockfile_age_days", round(max(0.0, age), 1), src))
    return readings


def _share(typical: float, subjects: int, rng: random.Random) -> float:
    """A share of `subjects` commit subjects near `typical`, as counting them would give."""
    hits = sum(rng.random() < typical for _ in range(subjects))
    return round(hits / subjects, 4)


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
