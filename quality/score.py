"""Quality Score V2: the one definition (documented in docs/measurements.md, "Quality Score V2").

Four parts, 100 points: code quality 40 (coverage 15, lint 10, types 10, complexity 5), project
health 30 (packaging, version control, dependency freshness, test infrastructure, documentation,
CI: 5 each), development velocity 20 (commit frequency, conventional commits, issue references,
branch practice: 5 each), security 10 (scanner findings 5, hygiene 5).

Each component is a share (0–1) of its points computed from measurements; a component whose
measurements are missing is "not measured": it is left out and the total is scaled over the
points that were measured. Stars and label come from the total through `stars()` and `label()`.

A total scaled over few points is not a verdict: below `FULL_SHARE` of the 100 points it is
shown as "partial: 15 of 100 points", with no stars and no label (`is_partial`, `partial_text`).
That is a display rule only; the total itself is computed the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from lib.formatting import figure
from quality.observations import Observations, value

PARTS = {
    "code_quality": "Code quality",
    "project_health": "Project health",
    "dev_velocity": "Development velocity",
    "security": "Security",
}
# Weights of severities for scanner findings: 100 − Σ weights, floored at 0.
SEVERITY_WEIGHTS = {"high": 10, "medium": 4, "low": 1}
MAX_POINTS = 100
# Below this share of MAX_POINTS measured, a total gets no stars and no label, only "partial"
# (documented in docs/measurements.md, "Partial scores").
FULL_SHARE = 0.5


@dataclass(frozen=True)
class Component:
    part: str
    name: str
    points: float
    keys: tuple[str, ...]
    share: Callable[..., float]  # takes the values of `keys` in order, all measured
    rule: str  # how the share is computed, for the report and the docs


def _steps(x: float, steps: list[tuple[float, float]], otherwise: float) -> float:
    """The share of the first step whose threshold x reaches."""
    return next((share for threshold, share in steps if x >= threshold), otherwise)


def _weighted(high: float, medium: float, low: float) -> float:
    w = SEVERITY_WEIGHTS
    return max(0.0, 100 - (w["high"] * high + w["medium"] * medium + w["low"] * low)) / 100


def _complexity(mean: float) -> float:
    if mean <= 5:
        return 1.0
    if mean <= 10:
        return (100 - (mean - 5) * 10) / 100
    return max(0.0, 50 - (mean - 10) * 10) / 100


def _packaging(pyproject: float, lockfile: float) -> float:
    return {(1, 1): 1.0, (1, 0): 0.6, (0, 1): 0.4, (0, 0): 0.0}[(int(pyproject), int(lockfile))]


def _freshness(has_lockfile: float, age_days: float | None) -> float:
    if not has_lockfile or age_days is None:  # no lockfile: measured as none, so 0
        return 0.0
    return 1.0 if age_days < 30 else 0.6 if age_days < 90 else 0.2


def _test_infra(files: float, conftest: float) -> float:
    if files >= 10 and conftest:
        return 1.0
    return _steps(files, [(5, 0.6), (1, 0.2)], 0.0)


def _documentation(readme: float, pages: float) -> float:
    if not readme:
        return 0.0
    return _steps(pages, [(5, 1.0), (1, 0.6)], 0.4)


def _hygiene(secret_files: float, env_ignored: float) -> float:
    return max(0.0, 1.0 - 0.4 * secret_files - (0.0 if env_ignored else 0.4))


COMPONENTS = [
    Component(
        "code_quality", "coverage", 15, ("coverage.line_percent",), lambda p: p / 100,
        "line coverage %"
    ),
    Component(
        "code_quality", "lint", 10,
        ("lint.findings.high", "lint.findings.medium", "lint.findings.low"), _weighted,
        "100 − (10·high + 4·medium + 1·low ruff findings), floored at 0, in %",
    ),
    Component(
        "code_quality", "types", 10, ("types.annotation_percent",), lambda p: p / 100,
        "annotated arguments and returns %",
    ),
    Component(
        "code_quality", "complexity", 5, ("complexity.mean",), _complexity,
        "mean CC ≤ 5: 100 %; ≤ 10: 100 − 10·(mean − 5); above: 50 − 10·(mean − 10), floored",
    ),
    Component(
        "project_health", "packaging", 5, ("project.has_pyproject", "project.has_lockfile"),
        _packaging, "pyproject + lockfile 100 %, pyproject 60 %, lockfile 40 %",
    ),
    Component(
        "project_health", "version control", 5, ("git.is_repo", "git.commits_total"),
        lambda repo, n: 0.0 if not repo else (1.0 if n >= 5 else 0.6),
        "git with ≥ 5 commits 100 %, fewer 60 %, no git 0",
    ),
    Component(
        "project_health", "dependency freshness", 5,
        ("project.has_lockfile", "git.lockfile_age_days"), _freshness,
        "lockfile committed < 30 days ago 100 %, < 90 days 60 %, older 20 %, none 0",
    ),
    Component(
        "project_health", "test infrastructure", 5, ("tests.test_files", "tests.has_conftest"),
        _test_infra, "≥ 10 test modules + conftest 100 %, ≥ 5 60 %, ≥ 1 20 %",
    ),
    Component(
        "project_health", "documentation", 5, ("docs.readme", "docs.pages"), _documentation,
        "README + ≥ 5 docs pages 100 %, + ≥ 1 60 %, README only 40 %",
    ),
    Component(
        "project_health", "CI", 5, ("project.ci_files",),
        lambda n: _steps(n, [(2, 1.0), (1, 0.6)], 0.0), "≥ 2 CI files 100 %, 1 60 %",
    ),
    Component(
        "dev_velocity", "commit frequency", 5, ("git.commits_30d",),
        lambda n: _steps(n, [(20, 1.0), (10, 0.8), (5, 0.4), (1, 0.2)], 0.0),
        "commits in 30 days: ≥ 20 100 %, ≥ 10 80 %, ≥ 5 40 %, ≥ 1 20 %",
    ),
    Component(
        "dev_velocity", "conventional commits", 5, ("git.conventional_share",),
        lambda s: _steps(s, [(0.8, 1.0), (0.5, 0.6)], 0.2),
        "share ≥ 80 % → 100 %, ≥ 50 % → 60 %, else 20 %",
    ),
    Component(
        "dev_velocity", "issue references", 5, ("git.issue_ref_share",),
        lambda s: _steps(s, [(0.5, 1.0), (0.25, 0.6)], 0.2 if s > 0 else 0.0),
        "share ≥ 50 % → 100 %, ≥ 25 % → 60 %, > 0 → 20 %",
    ),
    Component(
        "dev_velocity", "branch practice", 5, ("git.feature_branches",),
        lambda n: _steps(n, [(3, 1.0), (1, 0.6)], 0.2),
        "feature branches ≥ 3 100 %, ≥ 1 60 %, none 20 %",
    ),
    Component(
        "security", "scanner findings", 5,
        ("security.findings.high", "security.findings.medium", "security.findings.low"),
        _weighted, "100 − (10·high + 4·medium + 1·low bandit findings), floored at 0, in %",
    ),
    Component(
        "security", "hygiene", 5, ("security.secret_files", "security.env_ignored"), _hygiene,
        "100 % − 40 % per file with a secret − 40 % if .env is not ignored",
    ),
]  # fmt: skip


@dataclass(frozen=True)
class ComponentScore:
    part: str
    name: str
    points: float  # the component's maximum
    earned: float | None  # None = not measured
    missing: tuple[str, ...]  # keys that were not measured


@dataclass(frozen=True)
class Score:
    total: float | None
    points_measured: float
    components: tuple[ComponentScore, ...]

    def part(self, part: str) -> tuple[float | None, float, float]:
        """(earned, measured points, maximum points) of one part; earned None if none measured."""
        mine = [c for c in self.components if c.part == part]
        measured = [c for c in mine if c.earned is not None]
        earned = round(sum(c.earned or 0.0 for c in measured), 2) if measured else None
        return earned, sum(c.points for c in measured), sum(c.points for c in mine)

    @property
    def partial(self) -> bool:
        return is_partial(self.total, self.points_measured)

    @property
    def stars(self) -> int | None:
        return stars(self.total, self.points_measured)

    @property
    def label(self) -> str:
        return label(self.total, self.points_measured)


def compute(observations: Observations) -> Score:
    """Quality Score V2 of a set of measurements."""
    components = []
    for c in COMPONENTS:
        values = [value(observations, k) for k in c.keys]
        missing = tuple(k for k, v in zip(c.keys, values, strict=True) if v is None)
        # Freshness needs no age when there is no lockfile at all (then it is measured as 0).
        if c.name == "dependency freshness" and values[0] == 0:
            missing = ()
        earned = None if missing else round(c.points * c.share(*values), 4)
        components.append(ComponentScore(c.part, c.name, c.points, earned, missing))
    measured = [c for c in components if c.earned is not None]
    points = sum(c.points for c in measured)
    total = round(100 * sum(c.earned or 0.0 for c in measured) / points, 1) if points else None
    return Score(total=total, points_measured=points, components=tuple(components))


def is_partial(total: float | None, points_measured: float | None) -> bool:
    """Whether a total was scaled over fewer than `FULL_SHARE` of the points (then it gets no
    stars and no label). A total with an unknown number of points is partial too."""
    if total is None:
        return False
    return points_measured is None or points_measured < FULL_SHARE * MAX_POINTS


def partial_text(points_measured: float | None) -> str:
    """ "partial: 15 of 100 points" — what a partial total shows instead of stars and a label."""
    points = (
        "an unknown number"
        if points_measured is None
        else figure(points_measured, decimals="trimmed")
    )
    return f"partial: {points} of {MAX_POINTS} points"


def stars(total: float | None, points_measured: float | None = MAX_POINTS) -> int | None:
    """round(total / 20), halves rounded up (so 50 → 3 ★, 90 → 5 ★); None for a partial total."""
    if total is None or is_partial(total, points_measured):
        return None
    return math.floor(total / 20 + 0.5)


def label(total: float | None, points_measured: float | None = MAX_POINTS) -> str:
    """ "Excellent", "Good" or "Needs attention"; "partial: …" below `FULL_SHARE` of the points."""
    if total is None:
        return "Not measured"
    if is_partial(total, points_measured):
        return partial_text(points_measured)
    if total >= 80:
        return "Excellent"
    if total >= 60:
        return "Good"
    return "Needs attention"
