"""IDE suggestions: which skills to use next on a file like the one being edited.

The ranking rule (docs/integrations.md says the same):

1. **Edits counted.** E = the project's newest MAX_EDITS edits of files with the same extension
   and test-ness as the file asked about.
2. **Follows.** For a skill s, f(s) = how many of those edits it followed: a call of s in the
   same session within FOLLOW_WINDOW after the edit (edit tools excluded). Its completion rate
   (Wilson 95 % interval) and median duration are those of its first call after each of them.
   The history share is h(s) = f(s) / E.
3. **Anchors.** The skills the request's session already used (when it names one), and the
   ANCHORS skills of highest f (ties by name).
4. **Dependencies.** The worker's stored dependency pass of the project
   (`analytics.dependencies`, 90 days of sessions): a pair counts when it is significant and
   positive, q < 0.05 and lift > 1. A skill's strongest pair is its pair of highest lift with
   an anchor other than itself (ties: more sessions together, then the anchor's name), L(s)
   its lift, 1 when it has none. Lift = how many times more often the two skills share a
   session than they would by chance.
5. **Score** = h(s) · L(s): the history share, multiplied by the strongest lift with what the
   session did or what usually follows such edits. For a skill the session's anchor explains,
   that is the naive-Bayes update P(s | edit, a) ≈ P(s | edit) · P(a | s)/P(a); it is a score
   for ranking, not a probability. Skills with f(s) > 0 (`basis: "history"`) are ranked by score,
   then f(s), then the smoothed rate (x + 1)/(n + 2) of their first calls, then name.
6. **Companions.** Skills with a strongest pair but f(s) = 0 (`basis: "dependency"`) come after
   every history skill, by lift, then sessions together, then name; their figures are the
   project's over the last RULE_WINDOW (the rollups keep no median: not measured).
7. `why` says all of it in words: the follows, and the pair with its lift, sessions together
   (n of N) and q.

`confidence` is a probability that the suggested skill completes: the success predictor's
`p_success` for a call of the skill now (in the request's session when it names one,
otherwise with the features of a first call outside any session) where the project has an
active model, otherwise the smoothed rate (x + 1)/(n + 2) of the calls its figures are over.
`confidence_source` says which ("predictor" or "smoothed_rate").

**Rules, only as the fallback**: without history or companions, rules on the language,
test-ness and selection suggest skills, marked `basis: "rule"`, with the project's own
figures for the skill over the last RULE_WINDOW when it has any.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import DurationField, Q

from analytics.dependencies import DEFAULT_DAYS, Q_MAX
from analytics.models import SkillDependency
from analytics.predictor.store import ArtifactMismatch, active, predict_successes
from analytics.skills import skill_stats, smoothed_rate, wilson_interval
from integrations.ide.files import EDIT_TOOLS, extension, is_test
from integrations.ide.models import FileEdit
from lib.stats import percentile_linear
from tracking.models import Project, Session, SkillInvocation

log = logging.getLogger(__name__)

FOLLOW_WINDOW = timedelta(minutes=10)
MAX_EDITS = 500
LIMIT = 5
ANCHORS = 3
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

HISTORY = "history"
DEPENDENCY = "dependency"
RULE = "rule"
PREDICTOR = "predictor"
SMOOTHED_RATE = "smoothed_rate"
# Why a skill is an anchor.
IN_SESSION = "session"
AFTER_EDITS = "history"


@dataclass(frozen=True)
class Pair:
    """A suggested skill's strongest stored pair with an anchor (module docstring, step 4)."""

    anchor: str
    anchor_is: str  # IN_SESSION or AFTER_EDITS
    lift: float
    sessions_together: int
    sessions: int
    q_value: float
    days: int


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
    score: float | None
    follows: int
    edits: int
    dependency: Pair | None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Candidate:
    """A skill being ranked, with the figures its suggestion shows."""

    skill: str
    basis: str
    follows: int = 0
    completed: int = 0
    decided: int = 0
    durations: list[float] = field(default_factory=list)
    pair: Pair | None = None
    score: float | None = None


class _Confidence:
    """The probability each suggested skill completes (module docstring): one predictor call
    for all of an answer's skills, else their smoothed rates."""

    def __init__(self, project: Project, session: Session | None, at: datetime | None = None):
        self.project = project
        self.session = session
        self.at = at or datetime.now(UTC)

    def of(self, counts: dict[str, tuple[int, int]]) -> dict[str, tuple[float, str]]:
        """{skill: (p, source)} for {skill: (completed, decided)}."""
        version = active(self.project) if counts else None
        if version is not None:
            try:
                found = predict_successes(
                    self.project, self.session, list(counts), self.at, version=version
                )
                return {skill: (p, PREDICTOR) for skill, p in found["p_success"].items()}
            except ArtifactMismatch:
                # A stored model that fails its checks is not used; the suggestions still come.
                log.exception("predictor model of project %s refused", self.project.slug)
        return {skill: (smoothed_rate(*pair), SMOOTHED_RATE) for skill, pair in counts.items()}


def suggest(
    project: Project,
    file_path: str,
    *,
    language: str = "",
    selection: str = "",
    session: Session | None = None,
    limit: int = LIMIT,
) -> list[Suggestion]:
    """Suggestions for a file like `file_path` (its name only: the file is never opened),
    best first, in `session` when given (module docstring)."""
    ext = extension(file_path)
    test = is_test(file_path)
    confidence = _Confidence(project, session)
    what = f"{ext or 'extensionless'} {'test' if test else 'non-test'} files"
    edits, candidates = follows(project, ext, test)
    used = session_skills(session) if session is not None else set()
    ranked = rank(project, edits, candidates, used, limit)
    if ranked:
        return _shown(project, ranked, edits, what, confidence)
    return from_rules(project, ext, test, language, selection, limit, confidence)


# The newest edits of a kind of file (how many, on every row) and the calls of their sessions
# within the window after each, in call order: one join on the calls' (session, time) index.
FOLLOWING_CALLS_SQL = """
WITH e AS (
    SELECT id, session_id, edited_at FROM integrations_fileedit
    WHERE project_id = %s AND extension = %s AND is_test = %s
    ORDER BY edited_at DESC, id DESC LIMIT %s
)
SELECT (SELECT count(*) FROM e), e.id, i.skill, i.completed, i.duration_s
FROM e JOIN tracking_skillinvocation AS i ON i.session_id = e.session_id
    AND i.invoked_at > e.edited_at AND i.invoked_at <= {until}
WHERE i.skill NOT IN ({edit_tools})
ORDER BY e.id, i.invoked_at, i.id
"""


def follows(project: Project, ext: str, test: bool) -> tuple[int, dict[str, _Candidate]]:
    """E and the history skills of edits of such files (module docstring, steps 1–2)."""
    # Raw SQL: through the ORM the join goes by way of the session table, and PostgreSQL then
    # reads every call of each session instead of the window's (measured on the benchmark
    # data, docs/benchmarks.md). The edit's time plus the window is written by the backend's
    # own duration arithmetic (an interval on PostgreSQL, SQLite's dtdelta function).
    until = connection.ops.combine_duration_expression("+", ["e.edited_at", "%s"])
    sql = FOLLOWING_CALLS_SQL.format(until=until, edit_tools=", ".join(["%s"] * len(EDIT_TOOLS)))
    window = DurationField().get_db_prep_value(FOLLOW_WINDOW, connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [project.pk, ext, test, MAX_EDITS, window, *EDIT_TOOLS])
        rows = cursor.fetchall()
    if not rows:
        newest = FileEdit.objects.filter(project=project, extension=ext, is_test=test)
        return len(newest.values_list("pk", flat=True)[:MAX_EDITS]), {}
    found: dict[str, _Candidate] = {}
    seen: set[tuple[int, str]] = set()
    for _, edit, skill, completed, duration in rows:
        if (edit, skill) in seen:  # only the skill's first call after each edit counts
            continue
        seen.add((edit, skill))
        candidate = found.get(skill)
        if candidate is None:
            candidate = found[skill] = _Candidate(skill=skill, basis=HISTORY)
        candidate.follows += 1
        if completed is not None:
            candidate.decided += 1
            candidate.completed += bool(completed)
        if duration is not None:
            candidate.durations.append(duration)
    return rows[0][0], found


def session_skills(session: Session) -> set[str]:
    """The skills `session` used so far."""
    return set(
        SkillInvocation.objects.filter(session=session)
        .order_by()
        .values_list("skill", flat=True)
        .distinct()
    )


def strongest_pairs(project: Project, anchors: dict[str, str]) -> dict[str, Pair]:
    """For each skill, its strongest significant positive pair with an anchor of `anchors`
    ({skill: IN_SESSION or AFTER_EDITS}) in the project's stored pass (module docstring,
    step 4). No stored pass: no pairs."""
    if not anchors:
        return {}
    names = list(anchors)
    rows = (
        SkillDependency.objects.filter(
            run__project=project, run__days=DEFAULT_DAYS, q_value__lt=Q_MAX, lift__gt=1
        )
        .filter(Q(skill_a__in=names) | Q(skill_b__in=names))
        .values_list("skill_a", "skill_b", "lift", "count_ab", "q_value", "run__n_sessions")
    )
    best: dict[str, Pair] = {}
    for a, b, lift, together, q, n in rows:
        for skill, anchor in ((a, b), (b, a)):
            if anchor not in anchors:
                continue
            pair = Pair(anchor, anchors[anchor], lift, together, n, q, DEFAULT_DAYS)
            held = best.get(skill)
            if held is None or _stronger(pair, held):
                best[skill] = pair
    return best


def _stronger(pair: Pair, than: Pair) -> bool:
    return (pair.lift, pair.sessions_together, than.anchor) > (
        than.lift,
        than.sessions_together,
        pair.anchor,
    )


def rank(
    project: Project, edits: int, candidates: dict[str, _Candidate], used: set[str], limit: int
) -> list[_Candidate]:
    """The best `limit` of the history skills and companions (module docstring, steps 3–6)."""
    by_follows = sorted(candidates.values(), key=lambda c: (-c.follows, c.skill))
    anchors = {c.skill: AFTER_EDITS for c in by_follows[:ANCHORS]}
    anchors.update(dict.fromkeys(used, IN_SESSION))  # the session's own use says more
    pairs = strongest_pairs(project, anchors)
    for candidate in candidates.values():
        candidate.pair = pairs.get(candidate.skill)
        lift = candidate.pair.lift if candidate.pair else 1.0
        candidate.score = candidate.follows / edits * lift
    history = sorted(
        candidates.values(),
        key=lambda c: (
            -(c.score or 0.0),
            -c.follows,
            -smoothed_rate(c.completed, c.decided),
            c.skill,
        ),
    )
    companions = sorted(
        (
            _Candidate(skill=skill, basis=DEPENDENCY, pair=pair)
            for skill, pair in pairs.items()
            if skill not in candidates and skill not in EDIT_TOOLS
        ),
        key=lambda c: (-c.pair.lift, -c.pair.sessions_together, c.skill),  # type: ignore[union-attr]
    )
    return (history + companions)[:limit]


def _pair_words(pair: Pair, what: str) -> str:
    because = (
        "which this session used"
        if pair.anchor_is == IN_SESSION
        else f"one of the skills most used after edits of {what}"
    )
    return (
        f"used together with {pair.anchor} ({because}) in {pair.sessions_together:,} of the "
        f"{pair.sessions:,} sessions of the last {pair.days} days: lift {pair.lift:.2f}, "
        f"q {pair.q_value:.2g}"
    )


def _shown(
    project: Project,
    ranked: list[_Candidate],
    edits: int,
    what: str,
    confidence: _Confidence,
) -> list[Suggestion]:
    """The suggestions of the ranked candidates, with their figures and words."""
    companions = [c.skill for c in ranked if c.basis == DEPENDENCY]
    recent = _recent_figures(project, companions)
    result = []
    counts: dict[str, tuple[int, int]] = {}
    rates: dict[str, tuple[float | None, float | None, float | None]] = {}
    for c in ranked:
        if c.basis == DEPENDENCY:
            stat = recent.get(c.skill)
            c.completed, c.decided = (stat.completed, stat.decided) if stat else (0, 0)
        counts[c.skill] = (c.completed, c.decided)
        interval = wilson_interval(c.completed, c.decided)
        rates[c.skill] = (
            c.completed / c.decided if c.decided else None,
            interval[0] if interval else None,
            interval[1] if interval else None,
        )
    probabilities = confidence.of(counts)
    window = FOLLOW_WINDOW.seconds // 60
    for c in ranked:
        if c.basis == HISTORY:
            parts = [
                f"used within {window} min after {c.follows} of the last {edits} edits of "
                f"{what} in this project"
            ]
            score: float | None = c.score
        else:
            parts = [f"not seen within {window} min after edits of {what}"]
            score = None
        if c.pair is not None:
            parts.append(_pair_words(c.pair, what))
        p, source = probabilities[c.skill]
        rate, low, high = rates[c.skill]
        result.append(
            Suggestion(
                skill=c.skill,
                why="; ".join(parts),
                completion_rate=rate,
                completion_rate_low=low,
                completion_rate_high=high,
                n=c.decided,
                # Only the shown skills' medians are worth sorting their durations for.
                median_duration_s=percentile_linear([(d, 1) for d in c.durations], 50),
                confidence=p,
                confidence_source=source,
                basis=c.basis,
                score=score,
                follows=c.follows,
                edits=edits,
                dependency=c.pair,
            )
        )
    return result


def _recent_figures(project: Project, skills: Iterable[str]) -> dict:
    """The project's figures of `skills` over the last RULE_WINDOW, from the rollups."""
    skills = list(skills)
    if not skills:
        return {}
    since = datetime.now(UTC) - RULE_WINDOW
    return {s.skill: s for s in skill_stats([project], since, skills=skills)}


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
    stats = _recent_figures(project, skills)
    counts = {
        skill: (stats[skill].completed, stats[skill].decided) if skill in stats else (0, 0)
        for skill in skills
    }
    probabilities = confidence.of(counts)
    result = []
    for skill in skills:
        stat = stats.get(skill)
        p, source = probabilities[skill]
        result.append(
            Suggestion(
                skill=skill,
                why=unique[skill],
                completion_rate=stat.completion_rate if stat else None,
                completion_rate_low=stat.completion_rate_low if stat else None,
                completion_rate_high=stat.completion_rate_high if stat else None,
                n=counts[skill][1],
                # The rollups keep a mean, not a median: not measured here.
                median_duration_s=None,
                confidence=p,
                confidence_source=source,
                basis=RULE,
                score=None,
                follows=0,
                edits=0,
                dependency=None,
            )
        )
    return result
