"""IDE suggestions: which skills to use next on a file like the one being edited.

Ranked from the project's own history: the skills its agents invoked in the same session within
FOLLOW_WINDOW after editing a file with the same extension and test-ness (the newest
MAX_EDITS such edits). For each skill: how many of those edits it followed (the rank), the
completion rate of its first call after each (Wilson 95 % interval) and that call's median
duration.

`confidence` is a probability that the suggested skill completes: the success predictor's
`p_success` for a call of the skill now (outside any session: the features of a first call)
where the project has an active model, otherwise the smoothed rate (x + 1)/(n + 2) of those
calls. `confidence_source` says which ("predictor" or "smoothed_rate").

Without such history, rules on the language, test-ness and selection suggest skills, marked
`basis: "rule"`, with the project's own figures for the skill over the last 30 days when it
has any.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from analytics.predictor.store import ArtifactMismatch, NoActiveModel, active, predict_success
from analytics.skills import skill_stats, smoothed_rate, wilson_interval
from integrations.ide.files import extension, is_test
from integrations.ide.history import EDIT_TOOLS
from integrations.ide.models import FileEdit
from lib.stats import percentile_linear
from tracking.models import Project, SkillInvocation

log = logging.getLogger(__name__)

FOLLOW_WINDOW = timedelta(minutes=10)
MAX_EDITS = 500
LIMIT = 5
RULE_WINDOW = timedelta(days=30)
# Rules of the fallback: (language or extension, test file?) → skills, and selection words.
LANGUAGES = {
    ".py": "python",
    ".js": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".tsx": "typescript",
}
RULES = {
    ("python", True): ["pytest"],
    ("python", False): ["ruff", "mypy"],
    ("javascript", True): ["jest"],
    ("javascript", False): ["eslint"],
    ("typescript", True): ["jest"],
    ("typescript", False): ["eslint", "tsc"],
}
SELECTION_RULES = (("import ", "ruff"), ("def test_", "pytest"), ("subprocess", "bandit"))


@dataclass(frozen=True)
class Suggestion:
    skill: str
    why: str
    completion_rate: float | None
    completion_rate_low: float | None
    completion_rate_high: float | None
    n: int
    median_duration_s: float | None
    confidence: float
    confidence_source: str
    basis: str

    def as_dict(self) -> dict:
        return asdict(self)


PREDICTOR = "predictor"
SMOOTHED_RATE = "smoothed_rate"


class _Confidence:
    """The probability a suggested skill completes, one answer's worth: the active model is
    looked up once, and each skill asks it (module docstring)."""

    def __init__(self, project: Project, at: datetime | None = None):
        self.project = project
        self.at = at or datetime.now(UTC)
        self.has_model = active(project) is not None

    def __call__(self, skill: str, completed: int, decided: int) -> tuple[float, str]:
        if self.has_model:
            try:
                found = predict_success(self.project, None, skill, self.at)
                return found["p_success"], PREDICTOR
            except NoActiveModel:  # deactivated since the look-up
                self.has_model = False
            except ArtifactMismatch:
                # A stored model that fails its checks is not used; the suggestions still come.
                log.exception("predictor model of project %s refused", self.project.slug)
                self.has_model = False
        return smoothed_rate(completed, decided), SMOOTHED_RATE


def suggest(
    project: Project, file_path: str, *, language: str = "", selection: str = "", limit: int = LIMIT
) -> list[Suggestion]:
    """Suggestions for a file like `file_path` (its name only: the file is never opened)."""
    ext = extension(file_path)
    test = is_test(file_path)
    confidence = _Confidence(project)
    found = from_history(project, ext, test, limit, confidence)
    if found:
        return found
    return from_rules(project, ext, test, language, selection, limit, confidence)


def from_history(
    project: Project, ext: str, test: bool, limit: int, confidence: _Confidence
) -> list[Suggestion]:
    edits = list(
        FileEdit.objects.filter(project=project, extension=ext, is_test=test)
        .order_by("-edited_at")
        .values_list("session_id", "edited_at")[:MAX_EDITS]
    )
    if not edits:
        return []
    sessions = {session for session, _ in edits}
    first = min(at for _, at in edits)
    last = max(at for _, at in edits) + FOLLOW_WINDOW
    calls: dict[int, list[tuple]] = defaultdict(list)
    rows = (
        SkillInvocation.objects.filter(
            project=project, session_id__in=sessions, invoked_at__gt=first, invoked_at__lte=last
        )
        .exclude(skill__in=EDIT_TOOLS)
        .order_by("invoked_at", "pk")
        .values_list("session_id", "invoked_at", "skill", "completed", "duration_s")
    )
    for session, at, skill, completed, duration in rows:
        calls[session].append((at, skill, completed, duration))
    follows: dict[str, list[tuple]] = defaultdict(list)
    for session, edited_at in edits:
        seen: set[str] = set()
        for at, skill, completed, duration in calls[session]:
            if at <= edited_at:
                continue
            if at > edited_at + FOLLOW_WINDOW:
                break
            if skill not in seen:  # the skill's first call after this edit
                seen.add(skill)
                follows[skill].append((completed, duration))
    what = f"{ext or 'extensionless'} {'test' if test else 'non-test'} files"
    result = []
    for skill, outcomes in follows.items():
        ok = sum(1 for completed, _ in outcomes if completed is True)
        decided = sum(1 for completed, _ in outcomes if completed is not None)
        interval = wilson_interval(ok, decided)
        durations = [(d, 1) for _, d in outcomes if d is not None]
        p, source = confidence(skill, ok, decided)
        result.append(
            Suggestion(
                skill=skill,
                why=f"used within {FOLLOW_WINDOW.seconds // 60} min after {len(outcomes)} of "
                f"the last {len(edits)} edits of {what} in this project",
                completion_rate=ok / decided if decided else None,
                completion_rate_low=interval[0] if interval else None,
                completion_rate_high=interval[1] if interval else None,
                n=decided,
                median_duration_s=percentile_linear(durations, 50),
                confidence=p,
                confidence_source=source,
                basis="history",
            )
        )
    result.sort(key=lambda s: (-len(follows[s.skill]), -s.confidence, s.skill))
    return result[:limit]


def from_rules(
    project: Project,
    ext: str,
    test: bool,
    language: str,
    selection: str,
    limit: int,
    confidence: _Confidence,
) -> list[Suggestion]:
    """The fallback when the project has no history for such files."""
    family = (language or "").lower() or LANGUAGES.get(ext, "")
    picked: list[tuple[str, str]] = []
    for word, skill in SELECTION_RULES:
        if word in selection:
            picked.append((skill, f"rule: the selection contains {word.strip()!r}"))
    for skill in RULES.get((family, test), []):
        picked.append((skill, f"rule: a {family} {'test' if test else 'source'} file"))
    unique: dict[str, str] = {}
    for skill, why in picked:
        unique.setdefault(skill, why)
    skills = list(unique)[:limit]
    if not skills:
        return []
    since = datetime.now(UTC) - RULE_WINDOW
    stats = {s.skill: s for s in skill_stats([project], since, skills=skills)}
    result = []
    for skill in skills:
        stat = stats.get(skill)
        ok, decided = (stat.completed, stat.decided) if stat else (0, 0)
        p, source = confidence(skill, ok, decided)
        result.append(
            Suggestion(
                skill=skill,
                why=unique[skill],
                completion_rate=stat.completion_rate if stat else None,
                completion_rate_low=stat.completion_rate_low if stat else None,
                completion_rate_high=stat.completion_rate_high if stat else None,
                n=decided,
                # The rollups keep a mean, not a median: not measured here.
                median_duration_s=None,
                confidence=p,
                confidence_source=source,
                basis="rule",
            )
        )
    return result
