"""Per-phase statistics of a project's crackerjack runs, and the phase recommendations.

Read from the stored runs (`CrackerjackRun.phases`), never from memory as the reference's
CrackerjackPhaseMetrics were. `phase_report` is what a skill page shows (the lead wires it).

Recommendations, each with the figures it rests on:
- high: the phase passed in under 70 % of its runs (the reference's high-priority CI rule);
- medium: the phase's median duration is over crackerjack's own budget for it (fast hooks about
  5 s, comprehensive hooks about 30 s: crackerjack's README, monitoring-integrations.md §6);
- medium: a hook completed under 80 % of its decided runs (the reference's bottleneck rule),
  with the issues it reported;
- the recommended skills of a phase (the reference's `get_recommended_skills`, which always
  returned nothing): its hooks by smoothed completion rate, (x + 1)/(n + 2).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from analytics.skills import smoothed_rate, wilson_interval
from integrations.crackerjack.models import CrackerjackRun
from integrations.crackerjack.runs import PHASE_MAPPING, outcome_of
from lib.stats import percentile_linear
from tracking.models import Project

PHASES = ("fast_hooks", "comprehensive_hooks", "tests", "ai_fix")
BUDGET_S = {"fast_hooks": 5.0, "comprehensive_hooks": 30.0}
PHASE_HIGH_BELOW = 0.7
HOOK_BELOW = 0.8
RECOMMENDED = 5


def _rate(ok: int, bad: int) -> dict:
    n = ok + bad
    interval = wilson_interval(ok, n)
    return {
        "n": n,
        "rate": ok / n if n else None,
        "rate_low": interval[0] if interval else None,
        "rate_high": interval[1] if interval else None,
    }


def phase_report(project: Project, *, days: int = 30, now: datetime | None = None) -> dict:
    """Statistics per phase over the runs that started in the last `days`, and the
    recommendations they lead to."""
    end = now or datetime.now(UTC)
    start = end - timedelta(days=days)
    runs = CrackerjackRun.objects.filter(project=project, started_at__gte=start, started_at__lt=end)
    passed: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # ok, bad, runs
    durations: dict[str, list[float]] = defaultdict(list)
    hooks: dict[tuple[str, str], dict] = {}
    for phases in runs.values_list("phases", flat=True):
        for phase in phases:
            name = phase["phase"]
            counts = passed[name]
            counts[2] += 1
            outcome = outcome_of(phase["status"])
            if outcome is not None:
                counts[0 if outcome else 1] += 1
            if phase.get("duration_seconds") is not None:
                durations[name].append(phase["duration_seconds"])
            for hook in phase.get("hooks", []):
                row = hooks.setdefault(
                    (name, hook["name"]),
                    {"ok": 0, "bad": 0, "runs": 0, "issues": 0, "durations": []},
                )
                row["runs"] += 1
                row["issues"] += hook.get("issues_count") or 0
                hook_outcome = outcome_of(hook["status"])
                if hook_outcome is not None:
                    row["ok" if hook_outcome else "bad"] += 1
                if hook.get("duration") is not None:
                    row["durations"].append(hook["duration"])
    stats = []
    for name in PHASES:
        if name not in passed:
            continue
        ok, bad, count = passed[name]
        counted = [(d, 1) for d in durations[name]]
        phase_hooks = [
            {
                "hook": hook,
                "runs": row["runs"],
                "issues": row["issues"],
                **_rate(row["ok"], row["bad"]),
                "rate_smoothed": smoothed_rate(row["ok"], row["ok"] + row["bad"]),
                "duration_p50_s": percentile_linear([(d, 1) for d in row["durations"]], 50),
            }
            for (phase, hook), row in sorted(hooks.items())
            if phase == name
        ]
        stats.append(
            {
                "phase": name,
                "workflow_phase": PHASE_MAPPING[name],
                "runs": count,
                **_rate(ok, bad),
                "duration_n": len(counted),
                "duration_p50_s": percentile_linear(counted, 50),
                "duration_p90_s": percentile_linear(counted, 90),
                "hooks": phase_hooks,
            }
        )
    return {
        "window_start": start,
        "window_end": end,
        "runs": runs.count(),
        "phases": stats,
        "recommendations": recommendations(stats),
    }


def recommendations(stats: list[dict]) -> list[dict]:
    """The phase recommendations (module docstring) from `phase_report`'s statistics."""
    found = []
    for phase in stats:
        name = phase["phase"]
        if phase["rate"] is not None and phase["rate"] < PHASE_HIGH_BELOW:
            found.append(
                {
                    "phase": name,
                    "severity": "high",
                    "message": f"{name} passed in {phase['rate']:.0%} of {phase['n']} runs.",
                    "basis": {"rate": phase["rate"], "n": phase["n"]},
                }
            )
        budget = BUDGET_S.get(name)
        median = phase["duration_p50_s"]
        if budget is not None and median is not None and median > budget:
            found.append(
                {
                    "phase": name,
                    "severity": "medium",
                    "message": f"{name} takes {median:.1f} s (median of {phase['duration_n']}), "
                    f"over crackerjack's budget of about {budget:.0f} s.",
                    "basis": {
                        "duration_p50_s": median,
                        "n": phase["duration_n"],
                        "budget_s": budget,
                    },
                }
            )
        for hook in phase["hooks"]:
            if hook["rate"] is not None and hook["rate"] < HOOK_BELOW:
                found.append(
                    {
                        "phase": name,
                        "severity": "medium",
                        "message": f"{hook['hook']} completed {hook['rate']:.0%} of {hook['n']} "
                        f"runs ({hook['issues']} issues reported): fix it first.",
                        "basis": {"hook": hook["hook"], "rate": hook["rate"], "n": hook["n"]},
                    }
                )
        ranked = sorted(phase["hooks"], key=lambda h: (-h["rate_smoothed"], h["hook"]))
        if ranked:
            top = ranked[:RECOMMENDED]
            found.append(
                {
                    "phase": name,
                    "severity": "info",
                    "message": f"Recommended skills for {name}: "
                    + ", ".join(h["hook"] for h in top),
                    "basis": {"skills": [[h["hook"], h["rate_smoothed"]] for h in top]},
                }
            )
    return found
