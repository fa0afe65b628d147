"""What a provider's payload says about a run or a job, in one shape for both providers.

The parsers (`github.py`, `gitlab.py`) check every field they read and raise `PayloadError`
naming it; `pipelines.py` stores the facts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from lib.ranges import check_duration
from lib.text import check_text
from tracking.ingest import parse_timestamp

# The reference's STAGE_MAPPING (session-buddy's cicd_tracker.py): a CI stage's workflow phase.
STAGE_PHASES = {
    "build": "setup",
    "test": "execution",
    "lint": "verification",
    "security": "verification",
    "deploy": "deployment",
    "publish": "deployment",
}
# Words in a job or stage name that say which of the stages above it is. GitHub jobs have no
# stage, and GitLab stages are free names: "unit-tests" is a test stage, "pypi-release" publish.
STAGE_WORDS = {
    "build": ("build", "compile", "install", "setup"),
    "test": ("test", "tests", "pytest", "jest", "unit", "integration", "e2e", "coverage"),
    "lint": ("lint", "ruff", "mypy", "eslint", "format", "typecheck", "types", "check"),
    "security": ("security", "bandit", "audit", "sast", "codeql", "scan"),
    "deploy": ("deploy", "deployment", "helm", "terraform"),
    "publish": ("publish", "release", "upload", "pypi", "npm-publish"),
}
# A GitLab timestamp "2016-08-12 15:23:28 UTC" (or "… +0200"), the pipeline hook's format.
GITLAB_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?) (UTC|[+-]\d{4})$")


class PayloadError(ValueError):
    """A payload field Cairn needs is missing or wrong; the message names it."""


def stage_of(name: str) -> str:
    """The reference stage a stage or job name is, by its words; "" when none fits."""
    words = set(re.split(r"[^a-z0-9]+", name.lower()))
    for stage, keys in STAGE_WORDS.items():
        if words.intersection(keys):
            return stage
    return ""


def phase_of(stage: str) -> str:
    """The workflow phase of a stage name (its reference stage's), "" when unmapped."""
    return STAGE_PHASES.get(stage_of(stage), "")


def timestamp(value: object, name: str) -> datetime | None:
    """A provider timestamp: ISO 8601 (GitHub, GitLab's `_iso` fields) or GitLab's
    "YYYY-MM-DD HH:MM:SS UTC"; None when null or absent."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        match = GITLAB_TIME.match(value)
        if match:
            day, time, zone = match.groups()
            offset = "+00:00" if zone == "UTC" else f"{zone[:3]}:{zone[3:]}"
            value = f"{day}T{time}{offset}"
    try:
        return parse_timestamp(value, name)
    except ValueError as exc:
        raise PayloadError(str(exc)) from None


def text(data: dict, name: str, limit: int, *, required: bool = False, where: str = "") -> str:
    """A text field; absent or null is "" unless `required`. Longer text is cut to `limit`."""
    label = f"{where}.{name}" if where else name
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise PayloadError(f"'{label}' is required")
        return ""
    try:
        return check_text(value, label)[:limit]
    except ValueError as exc:
        raise PayloadError(str(exc)) from None


def integer(data: dict, name: str, *, where: str = "", required: bool = True) -> int | None:
    """A non-negative integer id or count (booleans are not integers)."""
    label = f"{where}.{name}" if where else name
    value = data.get(name)
    if value is None:
        if required:
            raise PayloadError(f"'{label}' is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise PayloadError(f"'{label}' must be a non-negative integer")
    return value


def seconds(data: dict, name: str, *, where: str = "") -> float | None:
    """A duration in seconds inside `lib.ranges`' range, or None."""
    value = data.get(name)
    if value is None:
        return None
    try:
        return check_duration(value, f"{where}.{name}" if where else name)
    except ValueError as exc:
        raise PayloadError(str(exc)) from None


def obj(data: dict, name: str, *, required: bool = True) -> dict:
    value = data.get(name)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise PayloadError(f"'{name}' must be an object")
    return value


def between(start: datetime | None, end: datetime | None) -> float | None:
    """Seconds from `start` to `end`, None unless both are known and in order."""
    if start is None or end is None or end < start:
        return None
    return (end - start).total_seconds()


@dataclass(frozen=True)
class RunFacts:
    provider: str
    repository: str
    repository_name: str
    external_id: int
    attempt: int
    name: str
    commit: str
    branch: str
    event: str
    status: str
    conclusion: str
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_s: float | None
    url: str


@dataclass(frozen=True)
class JobFacts:
    provider: str
    repository: str
    external_id: int
    # None: the payload does not say (a GitLab pipeline hook's builds).
    attempt: int | None
    run_external_id: int
    run_attempt: int
    name: str
    stage: str
    commit: str
    status: str
    conclusion: str
    failure_reason: str
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_s: float | None
    queued_s: float | None
    url: str
    steps: list[dict] = field(default_factory=list)

    @property
    def phase(self) -> str:
        return phase_of(self.stage or self.name)


@dataclass(frozen=True)
class Delivery:
    """A parsed delivery: what to store, or nothing (a ping, an event not handled)."""

    event: str
    action: str
    runs: list[RunFacts] = field(default_factory=list)
    jobs: list[JobFacts] = field(default_factory=list)
    # Handled (a run or job event; a ping) or ignored (anything else, counted).
    handled: bool = True
