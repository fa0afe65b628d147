"""The stable vocabulary of measurement keys.

Every Measurement a collector produces uses a key from KEYS; `docs/measurements.md` documents the
same list and a test holds the two together. Keys are never renamed: reports, gates and trends of
old checkpoints read them.
"""

from __future__ import annotations

from typing import NamedTuple


class Key(NamedTuple):
    unit: str
    description: str


KEYS: dict[str, Key] = {
    # coverage: coverage.json, Cobertura coverage.xml or a .coverage data file
    "coverage.line_percent": Key("%", "Statements covered / statements, in percent."),
    "coverage.branch_percent": Key("%", "Branches covered / branches (only with branch data)."),
    "coverage.statements": Key("count", "Statements (lines) measured."),
    "coverage.covered": Key("count", "Statements covered."),
    "coverage.missing": Key("count", "Statements not covered."),
    # tests: JUnit XML
    "tests.total": Key("count", "Test cases (detail.ids holds their ids)."),
    "tests.passed": Key("count", "Test cases with no failure, error or skip."),
    "tests.failed": Key("count", "Test cases whose worst result is a failure."),
    "tests.errors": Key("count", "Test cases whose worst result is an error."),
    "tests.skipped": Key("count", "Test cases whose worst result is a skip."),
    "tests.duration_s": Key("s", "Sum of the test cases' times."),
    "tests.created": Key("count", "Test ids now that the session's start checkpoint lacked."),
    "tests.test_files": Key("count", "Tracked test modules (test_*.py, *_test.py)."),
    "tests.has_conftest": Key("bool", "A tracked conftest.py exists."),
    # lint: ruff --output-format json
    "lint.findings": Key("count", "All ruff findings (detail.by_code)."),
    "lint.findings.high": Key("count", "Ruff findings of high severity (see docs)."),
    "lint.findings.medium": Key("count", "Ruff findings of medium severity."),
    "lint.findings.low": Key("count", "Ruff findings of low severity."),
    # types: mypy, and annotations read from the source
    "types.errors": Key("count", "mypy errors."),
    "types.annotation_percent": Key(
        "%", "Annotated slots / slots, where a function has one slot per argument + return."
    ),
    # complexity: radon cc
    "complexity.max": Key("cc", "Highest cyclomatic complexity of a function."),
    "complexity.mean": Key("cc", "Mean cyclomatic complexity over functions."),
    "complexity.over_15": Key("count", "Functions with complexity above 15 (detail.worst)."),
    # security: bandit and a secret scan of tracked files
    "security.findings.high": Key("count", "Bandit findings of high severity."),
    "security.findings.medium": Key("count", "Bandit findings of medium severity."),
    "security.findings.low": Key("count", "Bandit findings of low severity."),
    "security.secret_files": Key("count", "Tracked files with a secret-looking assignment."),
    "security.env_ignored": Key("bool", "The repository ignores .env files."),
    # docs
    "docs.readme": Key("bool", "A README file exists at the root."),
    "docs.pages": Key("count", "Markdown/reST pages under docs/."),
    "docs.docstring_percent": Key(
        "%", "Modules, classes and functions with a docstring, in percent."
    ),
    # packaging and CI
    "project.has_pyproject": Key("bool", "pyproject.toml exists."),
    "project.has_lockfile": Key("bool", "A lockfile or pinned requirements file exists."),
    "project.ci_files": Key("count", "CI configuration files (.github/workflows, .gitlab-ci.yml)."),
    # git
    "git.is_repo": Key("bool", "The path is inside a git work tree."),
    "git.dirty": Key("bool", "Tracked files changed or untracked files present."),
    "git.modified_files": Key("count", "Tracked files changed in the work tree or index."),
    "git.untracked_files": Key("count", "Untracked, not ignored files."),
    "git.ahead": Key("count", "Commits ahead of the upstream branch."),
    "git.behind": Key("count", "Commits behind the upstream branch."),
    "git.commits_total": Key("count", "Commits reachable from HEAD."),
    "git.commits_30d": Key("count", "Non-merge commits in the last 30 days."),
    "git.conventional_share": Key("ratio", "Share of those subjects in Conventional Commits form."),
    "git.issue_ref_share": Key("ratio", "Share of those subjects that reference an issue (#123)."),
    "git.feature_branches": Key("count", "Branches named feature/… or feat/…."),
    "git.commits_since_start": Key("count", "Commits from the session's start commit to HEAD."),
    "git.merges_since_start": Key("count", "Merge commits since the start (0 = linear)."),
    "git.lines_added": Key("lines", "Lines added since the start commit (work tree)."),
    "git.lines_removed": Key("lines", "Lines removed since the start commit (work tree)."),
    "git.files_created": Key("count", "Files added since the start commit (work tree)."),
    "git.lockfile_age_days": Key("days", "Days since the lockfile's last commit."),
    # filesystem
    "fs.project_bytes": Key("bytes", "Size of tracked files."),
    "fs.total_bytes": Key("bytes", "Size of the work tree including ignored files, without .git."),
    "fs.tracked_files": Key("count", "Tracked files."),
    "fs.python_lines": Key("lines", "Non-blank lines of tracked Python files."),
    "fs.cleanup_candidates": Key("count", "Ignored build litter files (never deleted)."),
    "fs.cleanup_bytes": Key("bytes", "Size of the cleanup candidates."),
    # the agent session (from its transcript)
    "session.context_tokens": Key("tokens", "Context size of the session's last assistant turn."),
    # a WebSocket load test attached to the checkpoint (`manage.py loadtest --attach-checkpoint`)
    "loadtest.clients_connected": Key("clients", "Clients that connected."),
    "loadtest.clients_failed": Key("clients", "Clients that failed to connect."),
    "loadtest.messages_per_s": Key("msg/s", "Messages received per second, all clients."),
    "loadtest.delivered_ratio": Key("ratio", "Messages received / messages expected."),
    "loadtest.dropped": Key("messages", "Gaps in the per-client sequence numbers."),
    "loadtest.errors": Key("count", "Error frames and client errors."),
    "loadtest.latency_p50_ms": Key("ms", "Median server_time → received latency."),
    "loadtest.latency_p95_ms": Key("ms", "95th percentile latency."),
    "loadtest.latency_p99_ms": Key("ms", "99th percentile latency."),
    "loadtest.latency_max_ms": Key("ms", "Highest latency."),
    # services
    "services.up": Key("count", "Configured health endpoints that answered."),
    "services.down": Key("count", "Configured health endpoints that did not answer."),
    "services.latency_ms_max": Key("ms", "Slowest answering endpoint (detail per service)."),
    # crackerjack: a run's hook results and its QualityGateReport (integrations/crackerjack)
    "crackerjack.gate_passed": Key("bool", "The quality gate report passed."),
    "crackerjack.checks_passed": Key("count", "Gate checks that passed (detail.checks)."),
    "crackerjack.checks_failed": Key("count", "Gate checks that failed (detail.names)."),
    "crackerjack.required_failures": Key("count", "Failed gate checks of severity required."),
    "crackerjack.hooks_failed": Key("count", "Hooks whose status was not passed (detail.names)."),
    "crackerjack.hook_issues": Key("count", "Issues the hooks reported (detail.by_hook)."),
}


def unit_of(key: str) -> str:
    """The unit of a known key; unknown keys are a programming error."""
    return KEYS[key].unit
