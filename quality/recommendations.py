"""Recommendations: rules over measurements, in priority order; each names its measurement."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from quality.observations import Observations, detail, value

CONTEXT_COMPACT_TOKENS = 150_000


@dataclass(frozen=True)
class Recommendation:
    rule: str
    text: str
    measurement: str
    value: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


Rule = Callable[[Observations, Observations | None], str | None]
RULES: list[tuple[str, str, Rule]] = []


def rule(name: str, measurement: str):
    def register(fn: Rule) -> Rule:
        RULES.append((name, measurement, fn))
        return fn

    return register


def _n(x: float) -> str:
    return f"{x:,.0f}"


@rule("failing-tests", "tests.failed")
def _failing(obs, base):
    failed = (value(obs, "tests.failed") or 0) + (value(obs, "tests.errors") or 0)
    if failed:
        return f"Fix the {_n(failed)} failing test{'s' * (failed != 1)} before anything else."
    return None


@rule("high-security", "security.findings.high")
def _security(obs, base):
    high = value(obs, "security.findings.high")
    if not high:
        return None
    first = (detail(obs, "security.findings.high").get("high") or [{}])[0]
    where = f" (first: {first['test_id']} in {first['file']}:{first['line']})" if first else ""
    return f"Fix {_n(high)} high-severity bandit finding{'s' * (high != 1)}{where}."


@rule("secrets", "security.secret_files")
def _secrets(obs, base):
    files = value(obs, "security.secret_files")
    if not files:
        return None
    return (
        f"Move the credentials out of {_n(files)} tracked file{'s' * (files != 1)} and rotate them."
    )


@rule("coverage-fell", "coverage.line_percent")
def _coverage_fell(obs, base):
    now, then = value(obs, "coverage.line_percent"), value(base or {}, "coverage.line_percent")
    if now is not None and then is not None and now < then - 0.005:
        return f"Coverage fell from {then:.1f} % to {now:.1f} % since the session start."
    return None


@rule("coverage-low", "coverage.line_percent")
def _coverage_low(obs, base):
    now = value(obs, "coverage.line_percent")
    if now is None:
        return None
    if now < 67:
        return f"Critical: increase test coverage ({now:.1f} % → target 80 %+)."
    if now < 80:
        return f"Add tests for the uncovered lines ({now:.1f} % → target 80 %+)."
    return None


@rule("coverage-unknown", "coverage.line_percent")
def _coverage_unknown(obs, base):
    if "coverage.line_percent" in obs and value(obs, "coverage.line_percent") is None:
        return "Measure coverage: pass --coverage coverage.json (or run with --run-tools)."
    return None


@rule("complexity", "complexity.over_15")
def _complexity(obs, base):
    over = value(obs, "complexity.over_15")
    if not over:
        return None
    worst = (detail(obs, "complexity.max").get("worst") or [{}])[0]
    name = (
        f"; start with {worst['name']} ({worst['file']}, CC {worst['complexity']})" if worst else ""
    )
    return f"Split {_n(over)} function{'s' * (over != 1)} with complexity above 15{name}."


@rule("type-errors", "types.errors")
def _type_errors(obs, base):
    errors = value(obs, "types.errors")
    return f"Fix {_n(errors)} mypy error{'s' * (errors != 1)}." if errors else None


@rule("lint-high", "lint.findings.high")
def _lint(obs, base):
    high = value(obs, "lint.findings.high")
    if not high:
        return None
    return f"Fix {_n(high)} high-severity ruff finding{'s' * (high != 1)} (likely bugs)."


@rule("annotations", "types.annotation_percent")
def _annotations(obs, base):
    share = value(obs, "types.annotation_percent")
    if share is not None and share < 70:
        return f"Add type hints: {share:.0f} % of arguments and returns are annotated."
    return None


@rule("docstrings", "docs.docstring_percent")
def _docstrings(obs, base):
    share = value(obs, "docs.docstring_percent")
    if share is not None and share < 50:
        return f"Write docstrings: {share:.0f} % of modules, classes and functions have one."
    return None


@rule("env-not-ignored", "security.env_ignored")
def _env(obs, base):
    if value(obs, "security.env_ignored") == 0:
        return "Add .env to .gitignore so local secrets cannot be committed."
    return None


@rule("context", "session.context_tokens")
def _context(obs, base):
    tokens = value(obs, "session.context_tokens")
    if tokens is not None and tokens >= CONTEXT_COMPACT_TOKENS:
        return f"Run /compact: the session's context is {_n(tokens)} tokens."
    return None


@rule("services-down", "services.down")
def _services(obs, base):
    down = value(obs, "services.down")
    if not down:
        return None
    checks = detail(obs, "services.up").get("checks") or {}
    names = ", ".join(sorted(n for n, c in checks.items() if c.get("up") is False))
    return f"Bring back the health endpoint{'s' * (down != 1)} that did not answer: {names}."


@rule("uncommitted", "git.dirty")
def _dirty(obs, base):
    if value(obs, "git.dirty") != 1:
        return None
    modified = value(obs, "git.modified_files") or 0
    untracked = value(obs, "git.untracked_files") or 0
    return (
        f"Commit or discard the work in progress ({_n(modified)} changed, "
        f"{_n(untracked)} untracked files)."
    )


@rule("stale-lockfile", "git.lockfile_age_days")
def _lockfile(obs, base):
    age = value(obs, "git.lockfile_age_days")
    if age is not None and age >= 90:
        return f"Refresh dependencies: the lockfile was last committed {age:.0f} days ago."
    return None


@rule("cleanup", "fs.cleanup_candidates")
def _cleanup(obs, base):
    count, size = value(obs, "fs.cleanup_candidates"), value(obs, "fs.cleanup_bytes")
    if count and size is not None and size >= 50 * 1024 * 1024:
        return (
            f"{_n(count)} build-litter files ({size / 1024 / 1024:,.0f} MB) can go: review with "
            "`git clean -ndX`."
        )
    return None


def recommend(
    observations: Observations, baseline: Observations | None = None
) -> list[Recommendation]:
    """Every rule that fires, in priority order."""
    found = []
    for name, measurement, fn in RULES:
        text = fn(observations, baseline)
        if text:
            found.append(Recommendation(name, text, measurement, value(observations, measurement)))
    return found
