"""The checkpoint report, rendered from a stored checkpoint's measurements alone.

`ReportData` is plain data (tracking's `reports.report_data()` loads it from the database);
`render_markdown()` and `render_json()` are pure functions of it, so the same stored data
always gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lib.formatting import (
    NOT_MEASURED,
    figure,
    minutes_text,
    number,
    percent,
    signed,
    size,
    stars_text,
    timestamp,
)
from quality import debt as debt_
from quality import gates
from quality import score as score_
from quality.observations import Observations, detail, value


@dataclass(frozen=True)
class ReportData:
    """Everything a checkpoint's report shows, as plain values."""

    checkpoint_id: int
    project: str
    kind: str
    commit: str
    branch: str
    created_at: datetime
    session: str  # external id, "" without a session
    observations: Observations
    baseline: Observations | None  # the session's start checkpoint (maybe this one), or None
    baseline_id: int | None
    is_start: bool  # this checkpoint is its session's start
    gate_verdict: str
    gate_results: list[dict[str, Any]]
    recommendations: list[dict[str, Any]]


# -- marks -----------------------------------------------------------------------------------


def mark(ok: bool | None) -> str:
    """A check's outcome in words: "passed", "failed" or "not evaluated" (no emoji: they are
    empty boxes on a machine without an emoji font)."""
    return {True: "passed", False: "failed", None: "not evaluated"}[ok]


# Why a gate condition could not be evaluated, as the pages and the report say it.
_WHY_NOT = {
    gates.NO_START: "the session has no start checkpoint",
    gates.NO_SESSION: "the checkpoint has no session, so no start checkpoint",
}


def gate_outcome(condition: dict[str, Any]) -> str:
    """A stored gate condition's result: "passed", "failed" or "not evaluated: <why>"."""
    passed = condition.get("passed")
    if passed is not None:
        return mark(passed)
    reason = condition.get("reason") or f"{condition.get('metric', 'the metric')} was not measured"
    return f"{mark(None)}: {_WHY_NOT.get(reason, reason)}"


def gate_verdict_text(verdict: str, conditions: list[dict[str, Any]]) -> str:
    """The gate's verdict: "passed", "failed", "not evaluated: <why>" or "no gate"."""
    if verdict in ("passed", "failed"):
        return verdict
    if not conditions:
        return "no gate"
    reasons = sorted({gate_outcome(c).split(": ", 1)[-1] for c in conditions})
    return f"{mark(None)}: {'; '.join(reasons)}"


def score_text(total: float | None, points_measured: float | None) -> str:
    """A total as the report and the pages show it: "72.5/100 ★★★★☆ Good" over enough points,
    "94.7/100 — partial: 15 of 100 points" (no stars, no label) below `score.FULL_SHARE`."""
    if total is None:
        return NOT_MEASURED
    shown = f"{number(total, 1)}/100"
    if score_.is_partial(total, points_measured):
        return f"{shown} — {score_.partial_text(points_measured)}"
    stars = stars_text(score_.stars(total, points_measured))
    return f"{shown} {stars} {score_.label(total, points_measured)}"


# -- sections --------------------------------------------------------------------------------


def _header(d: ReportData, score: score_.Score) -> list[str]:
    o = d.observations
    title = (
        f"{d.kind} checkpoint #{d.checkpoint_id}"
        if d.kind != "ci"
        else f"CI checkpoint #{d.checkpoint_id}"
    )
    lines = [f"# {d.project}: {title[0].upper()}{title[1:]}", ""]
    lines += [f"## Quality Score V2: {score_text(score.total, score.points_measured)}", ""]
    gate = gate_verdict_text(d.gate_verdict, d.gate_results)
    lines.append(
        f"**Status**: **{score.label}** · {number(score.points_measured)} of 100 points measured"
        f" · gate {gate}"
    )
    where = f"`{d.branch or 'no branch'}` @ `{d.commit[:12] or 'no commit'}`"
    dirty = value(o, "git.dirty")
    trees: dict[float | None, str] = {1.0: "uncommitted changes", 0.0: "clean working tree"}
    tree = trees.get(dirty, "working tree not measured")
    session = f"session `{d.session}`" if d.session else "no session"
    lines += [f"**Commit**: {where} · {tree} · {session}", ""]
    lines += ["| Part | Points | Measured of | Maximum |", "|---|---:|---:|---:|"]
    for key, name in score_.PARTS.items():
        earned, measured, maximum = score.part(key)
        shown = number(earned, 1)
        lines.append(f"| {name} | {shown} | {number(measured)} | {number(maximum)} |")
    return lines + [""]


def _summary(d: ReportData, score: score_.Score, debt: debt_.Debt) -> list[str]:
    o = d.observations
    facts = []
    failing = [g for g in d.gate_results if g.get("passed") is False]
    if d.gate_verdict == "failed":
        names = ", ".join(f"`{g['metric']}`" for g in failing)
        facts.append(f"The quality gate **failed** on {len(failing)} condition(s): {names}.")
    elif d.gate_verdict == "passed":
        facts.append("The quality gate **passed**.")
    else:
        facts.append("The quality gate could not be evaluated: none of its metrics was measured.")
    total, passed = value(o, "tests.total"), value(o, "tests.passed")
    if total is not None:
        facts.append(f"{number(passed)} of {number(total)} tests pass.")
    cov = value(o, "coverage.line_percent")
    if cov is not None:
        gain = _gain(d, "coverage.line_percent")
        since = "" if gain is None else f" ({signed(gain, ' pt')} since the session start)"
        facts.append(f"Line coverage is {percent(cov)}{since}.")
    if debt.level:
        facts.append(f"Technical debt is rated **{debt.level}** ({minutes_text(debt.minutes)}).")
    return ["## Executive summary", "", " ".join(facts), ""]


def _gain(d: ReportData, key: str) -> float | None:
    now = value(d.observations, key)
    then = value(d.baseline, key) if d.baseline is not None else None
    return None if now is None or then is None else now - then


def _metric(label: str, text: str, o: Observations, key: str) -> str:
    observed = o.get(key)
    if observed is None:  # never recorded (a CI upload without that artefact)
        return f"- **{label}**: {NOT_MEASURED}"
    if observed.value is None:
        return f"- **{label}**: not measured — {observed.reason}"
    return f"- **{label}**: {text}"


def _key_metrics(d: ReportData) -> list[str]:
    o = d.observations
    gain = _gain(d, "coverage.line_percent")
    cov = percent(value(o, "coverage.line_percent"))
    if gain is not None:
        arrow = "↑" if gain >= 0 else "↓"
        cov += f" ({arrow}{number(abs(gain), 1)} pt from the session start)"
    branch = value(o, "coverage.branch_percent")
    if branch is not None:
        cov += f"; branches {percent(branch)}"
    tests = (
        f"{number(value(o, 'tests.passed'))}/{number(value(o, 'tests.total'))} passing "
        f"({number(value(o, 'tests.failed'))} failed, {number(value(o, 'tests.errors'))} errors, "
        f"{number(value(o, 'tests.skipped'))} skipped) in "
        f"{number(value(o, 'tests.duration_s'), 1)} s"
    )
    worst = (detail(o, "complexity.max").get("worst") or [])[:5]
    complexity = (
        f"max {number(value(o, 'complexity.max'))}, mean {number(value(o, 'complexity.mean'), 2)}, "
        f"{number(value(o, 'complexity.over_15'))} function(s) above 15"
    )
    lint = (
        f"{number(value(o, 'lint.findings'))} ruff findings "
        f"({number(value(o, 'lint.findings.high'))} high, "
        f"{number(value(o, 'lint.findings.medium'))} medium, "
        f"{number(value(o, 'lint.findings.low'))} low)"
    )
    bandit = (
        f"bandit {number(value(o, 'security.findings.high'))} high / "
        f"{number(value(o, 'security.findings.medium'))} medium / "
        f"{number(value(o, 'security.findings.low'))} low"
    )
    readmes: dict[float | None, str] = {1.0: "present", 0.0: "missing"}
    readme = readmes.get(value(o, "docs.readme"), NOT_MEASURED)
    secrets = f"{number(value(o, 'security.secret_files'))} file(s) with a secret-looking value"
    lines = [
        "## Key metrics",
        "",
        "### Code quality",
        _metric("Test coverage", cov, o, "coverage.line_percent"),
        _metric("Tests", tests, o, "tests.total"),
        _metric(
            "Type annotations",
            percent(value(o, "types.annotation_percent")),
            o,
            "types.annotation_percent",
        ),
        _metric("mypy errors", number(value(o, "types.errors")), o, "types.errors"),
        _metric("Complexity", complexity, o, "complexity.max"),
    ]
    lines += [f"  - `{w['name']}` ({w['file']}:{w['line']}): {w['complexity']}" for w in worst]
    lines += [
        _metric("Lint", lint, o, "lint.findings"),
        _metric("Security", bandit, o, "security.findings.high"),
        _metric("Secrets", secrets, o, "security.secret_files"),
        "",
        "### Documentation",
        _metric("README", readme, o, "docs.readme"),
        _metric("Docs pages", number(value(o, "docs.pages")), o, "docs.pages"),
        _metric(
            "Docstrings", percent(value(o, "docs.docstring_percent")), o, "docs.docstring_percent"
        ),
        "",
    ]  # fmt: skip
    return lines


def _achievements(d: ReportData) -> list[str]:
    o = d.observations
    start = value(o, "git.commits_since_start")
    start_commit = detail(o, "git.commits_since_start").get("start", "")
    against = (
        "this is the session's start checkpoint: the baseline of later ones"
        if d.is_start
        else f"against the session start checkpoint #{d.baseline_id}"
        if d.baseline_id
        else f"against the start commit `{start_commit[:12]}`"
        if start_commit
        else "no session start to compare with"
    )
    rows = [
        ("Files created", number(value(o, "git.files_created")), "git.files_created"),
        ("Lines added", number(value(o, "git.lines_added")), "git.lines_added"),
        ("Lines removed", number(value(o, "git.lines_removed")), "git.lines_removed"),
        ("Tests created", number(value(o, "tests.created")), "tests.created"),
        ("Commits made", number(start), "git.commits_since_start"),
        (
            "Coverage gain",
            signed(_gain(d, "coverage.line_percent"), " pt"),
            "coverage.line_percent",
        ),
    ]
    lines = ["## Session achievements", "", f"_{against[0].upper()}{against[1:]}._", ""]
    lines += ["| Metric | Value |", "|---|---:|"]
    lines += [f"| {label} | {text} |" for label, text, _ in rows]
    return lines + [""]


def _system(d: ReportData) -> list[str]:
    o = d.observations
    lines = ["## System status", "", "### Git repository"]
    if value(o, "git.is_repo") == 0:
        return lines + ["- not a git work tree", ""] + _filesystem(o)
    dirty = value(o, "git.dirty")
    tree = (
        NOT_MEASURED
        if dirty is None
        else "clean"
        if dirty == 0
        else f"{number(value(o, 'git.modified_files'))} changed, "
        f"{number(value(o, 'git.untracked_files'))} untracked file(s)"
    )
    merges = value(o, "git.merges_since_start")
    history = (
        NOT_MEASURED
        if merges is None
        else "linear"
        if merges == 0
        else f"{number(merges)} merge commit(s) since the start"
    )
    ahead = value(o, "git.ahead")
    upstream = (
        f"{number(ahead)} ahead, {number(value(o, 'git.behind'))} behind"
        if ahead is not None
        else f"not measured — {o['git.ahead'].reason}"
        if "git.ahead" in o
        else NOT_MEASURED
    )
    lines += [
        f"- **Working tree**: {tree}",
        f"- **Branch**: `{d.branch or 'detached'}` at `{d.commit[:12]}`; upstream: {upstream}",
        _metric(
            "Commits",
            f"{number(value(o, 'git.commits_total'))} in total, "
            f"{number(value(o, 'git.commits_30d'))} in the last 30 days",
            o,
            "git.commits_total",
        ),
        f"- **Commit history since the start**: {history}",
        "",
        "### Services",
    ]
    checks = detail(o, "services.up").get("checks") or {}
    if checks:
        for name, c in sorted(checks.items()):
            if c.get("up"):
                status = f"HTTP {c['status']}, " if "status" in c else ""
                took = f"{status}{number(c['latency_ms'], 1, grouping=False)} ms"
                lines.append(f"- **{name}**: up ({took}) — `{c['url']}`")
            else:
                why = c.get("error") or f"HTTP {c.get('status')}"
                lines.append(f"- **{name}**: down ({why}) — `{c['url']}`")
    else:
        reason = o["services.up"].reason if "services.up" in o else ""
        lines.append(f"- not measured — {reason}" if reason else f"- {NOT_MEASURED}")
    lines.append("")
    return lines + _filesystem(o)


def _project_size(o: Observations) -> str:
    tracked = o.get("fs.project_bytes")
    if tracked is not None and tracked.value is not None:
        return (
            f"- **Project size**: {size(tracked.value)} tracked "
            f"({number(value(o, 'fs.tracked_files'))} files, {number(value(o, 'fs.python_lines'))} "
            f"Python lines); {size(value(o, 'fs.total_bytes'))} with ignored files"
        )
    # Outside a git work tree only the walk measured: say so instead of "not measured tracked".
    parts = ["tracked files not measured" + (f" — {tracked.reason}" if tracked else "")]
    if value(o, "fs.total_bytes") is not None:
        parts.append(f"{size(value(o, 'fs.total_bytes'))} on disk")
    if value(o, "fs.python_lines") is not None:
        parts.append(f"{number(value(o, 'fs.python_lines'))} Python lines")
    return "- **Project size**: " + "; ".join(parts)


def _filesystem(o: Observations) -> list[str]:
    lines = [
        "### Filesystem",
        _project_size(o),
        _metric(
            "Cleanup candidates",
            f"{number(value(o, 'fs.cleanup_candidates'))} files "
            f"({size(value(o, 'fs.cleanup_bytes'))}) of ignored build litter; nothing was deleted",
            o,
            "fs.cleanup_candidates",
        ),
    ]
    tokens = value(o, "session.context_tokens")
    if tokens is not None:
        lines.append(f"- **Session context**: {number(tokens)} tokens (last assistant turn)")
    return lines + [""]


def _recommendations(d: ReportData) -> list[str]:
    lines = ["## Recommendations", ""]
    if not d.recommendations:
        return lines + ["No rule fired on the measurements.", ""]
    for i, r in enumerate(d.recommendations, 1):
        v = r.get("value")
        source = f" — from `{r['measurement']}` = {figure(v)}"
        lines.append(f"{i}. {r['text']}{source}")
    return lines + [""]


def _gates(d: ReportData) -> list[str]:
    verdict = gate_verdict_text(d.gate_verdict, d.gate_results)
    lines = ["## Quality gates", "", f"### {verdict[0].upper()}{verdict[1:]}", ""]
    for g in d.gate_results:
        threshold = g["threshold"]
        if threshold == "start":
            base = g.get("baseline")
            threshold = f"session start ({figure(base)})" if base is not None else "session start"
        condition = f"`{g['metric']}` {g['op']} {threshold}"
        if g.get("passed") is None:
            lines.append(f"- {condition}: {gate_outcome(g)}")
        else:
            lines.append(f"- {condition}: {figure(g['value'])}, {gate_outcome(g)}")
    return lines + [""]


def _debt(debt: debt_.Debt, o: Observations) -> list[str]:
    lines = ["## Technical debt", ""]
    if debt.minutes is None:
        return lines + ["Not measured: none of the finding counts was measured.", ""]
    level = f"**{debt.level}**" if debt.level else "not rated (size not measured)"
    ratio = (
        ""
        if debt.ratio is None
        else f", {percent(debt.ratio, 2, fraction=True)} of the estimated cost to write the code"
    )
    lines += [f"**Level**: {level} · remediation ≈ {minutes_text(debt.minutes)}{ratio}", ""]
    for key in debt.counted:
        v = value(o, key)
        if v:
            minutes = v * debt_.REMEDIATION_MINUTES[key]
            lines.append(
                f"- `{key}`: {number(v)} × {debt_.REMEDIATION_MINUTES[key]} min = "
                f"{number(minutes)} min"
            )
    if debt.not_measured:
        lines.append(f"- Left out (not measured): {', '.join(f'`{k}`' for k in debt.not_measured)}")
    return lines + [""]


# Load-test targets the report checks (documented in docs/measurements.md).
LOAD_TARGETS = {
    "loadtest.clients_failed": ("==", 0),
    "loadtest.delivered_ratio": (">=", 0.99),
    "loadtest.dropped": ("==", 0),
    "loadtest.errors": ("==", 0),
}


def _load_test(o: Observations) -> list[str]:
    keys = sorted(k for k in o if k.startswith("loadtest."))
    if not keys:
        return []
    lines = [
        "## Load test results",
        "",
        "| Metric | Value | Target | Status |",
        "|---|---:|---:|---|",
    ]
    for key in keys:
        v = o[key].value
        target, status = "", ""
        if key in LOAD_TARGETS:
            op, limit = LOAD_TARGETS[key]
            target = f"{op} {figure(limit)}"
            ok = None if v is None else (v == limit if op == "==" else v >= limit)
            status = mark(ok)
        shown = f"not measured: {o[key].reason}" if v is None else f"{figure(v)} {o[key].unit}"
        lines.append(f"| `{key}` | {shown} | {target} | {status} |")
    return lines + [""]


def _conclusion(d: ReportData, score: score_.Score, debt: debt_.Debt) -> list[str]:
    gate = gate_verdict_text(d.gate_verdict, d.gate_results)
    measured = (
        "no point was measured"
        if not score.points_measured
        else f"{number(score.points_measured)} of 100 points measured"
    )
    return [
        "## Conclusion",
        "",
        f"**Assessment**: {score_text(score.total, score.points_measured)} ({measured}); "
        f"gate {gate}; debt {debt.level or 'not rated'}.",
        "",
    ]


def _sources(o: Observations) -> list[str]:
    lines = [
        "## Measurements",
        "",
        "| Key | Value | Unit | Source | Artefact | Measured at |",
        "|---|---:|---|---|---|---|",
    ]
    for key in sorted(o):
        m = o[key]
        shown = (
            f"not measured: {m.reason}" if m.value is None else figure(m.value, decimals="trimmed")
        )
        tool = f"{m.tool} {m.tool_version}".strip()
        at = timestamp(m.measured_at) if m.measured_at else ""
        cells = [f"`{key}`", shown, m.unit, tool, m.artefact, at]
        lines.append(
            "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"
        )
    return lines + [""]


def render_markdown(d: ReportData, *, body_only: bool = False) -> str:
    """The checkpoint report in Markdown. `body_only` leaves out the score header, the
    measurement table and the footer, which the checkpoint page shows on its own."""
    score = score_.compute(d.observations)
    debt = debt_.compute(d.observations)
    body = (
        _summary(d, score, debt)
        + _key_metrics(d)
        + _achievements(d)
        + _system(d)
        + _recommendations(d)
        + _gates(d)
        + _debt(debt, d.observations)
        + _load_test(d.observations)
        + _conclusion(d, score, debt)
    )
    if body_only:
        return "\n".join(body) + "\n"
    footer = [
        "---",
        "",
        f"**Checkpoint** #{d.checkpoint_id} · commit `{d.commit[:12] or 'none'}` · "
        f"{timestamp(d.created_at)}",
    ]
    lines = _header(d, score) + ["---", ""] + body + _sources(d.observations) + footer
    return "\n".join(lines) + "\n"


def render_json(d: ReportData) -> dict[str, Any]:
    """The checkpoint as JSON: score, parts, stars, label, gates, measurements, recommendations."""
    score = score_.compute(d.observations)
    debt = debt_.compute(d.observations)
    parts = {}
    for key in score_.PARTS:
        earned, measured, maximum = score.part(key)
        parts[key] = {"points": earned, "measured_points": measured, "max_points": maximum}
    return {
        "checkpoint": d.checkpoint_id,
        "project": d.project,
        "session": d.session or None,
        "kind": d.kind,
        "commit": d.commit,
        "branch": d.branch,
        "created_at": d.created_at.isoformat(),
        "score": score.total,
        "points_measured": score.points_measured,
        "parts": parts,
        "stars": score.stars,
        "label": score.label,
        "gates": {"verdict": d.gate_verdict or None, "conditions": d.gate_results},
        "debt": {"level": debt.level or None, "minutes": debt.minutes, "ratio": debt.ratio},
        "measurements": {
            key: {
                "value": m.value,
                "unit": m.unit,
                "reason": m.reason or None,
                "source": {
                    "tool": m.tool,
                    "version": m.tool_version,
                    "artefact": m.artefact,
                    "measured_at": m.measured_at.isoformat() if m.measured_at else None,
                },
            }
            for key, m in sorted(d.observations.items())
        },
        "recommendations": d.recommendations,
    }
