"""Quality gates: explicit per-project conditions (metric, comparator, threshold), SonarQube-style.

A threshold is a number or "start": the metric's value at the session's start checkpoint. A
condition whose metric (or baseline) was not measured is listed as not measured and neither
passes nor fails; the gate fails when any condition fails.
"""

from __future__ import annotations

import operator
from dataclasses import asdict, dataclass
from typing import Any

from quality.observations import Observations, value
from quality.vocabulary import KEYS

DEFAULT_CONDITIONS: list[dict[str, Any]] = [
    {"metric": "tests.failed", "op": "<=", "threshold": 0},
    {"metric": "tests.errors", "op": "<=", "threshold": 0},
    {"metric": "coverage.line_percent", "op": ">=", "threshold": "start"},
    {"metric": "security.findings.high", "op": "<=", "threshold": 0},
    {"metric": "complexity.max", "op": "<=", "threshold": 15},
    {"metric": "types.errors", "op": "<=", "threshold": 0},
]
OPERATORS = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
PASSED, FAILED, NOT_MEASURED = "passed", "failed", "not measured"


@dataclass(frozen=True)
class ConditionResult:
    metric: str
    op: str
    threshold: float | str
    value: float | None
    baseline: float | None
    status: str
    reason: str = ""

    @property
    def passed(self) -> bool | None:
        """True / False, or None when not measured (the shape pages and the API read)."""
        return {PASSED: True, FAILED: False}.get(self.status)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


def validate(conditions: Any) -> list[dict[str, Any]]:
    """Project.gate_config checked: a list of {metric, op, threshold}; ValueError says what's wrong.
    An empty list means the defaults."""
    if not conditions:
        return DEFAULT_CONDITIONS
    if not isinstance(conditions, list):
        raise ValueError("gate configuration must be a list of conditions")
    for i, c in enumerate(conditions):
        if not isinstance(c, dict) or set(c) != {"metric", "op", "threshold"}:
            raise ValueError(f"condition {i}: needs exactly metric, op and threshold")
        if c["metric"] not in KEYS:
            raise ValueError(f"condition {i}: unknown metric {c['metric']!r}")
        if c["op"] not in OPERATORS:
            raise ValueError(f"condition {i}: op must be one of {', '.join(OPERATORS)}")
        threshold = c["threshold"]
        if threshold != "start" and (
            isinstance(threshold, bool) or not isinstance(threshold, int | float)
        ):
            raise ValueError(f'condition {i}: threshold must be a number or "start"')
    return conditions


NO_START = "no session start checkpoint to compare with"
NO_SESSION = "a checkpoint without a session has no start checkpoint to compare with"


def evaluate(
    conditions: list[dict[str, Any]],
    observations: Observations,
    baseline: Observations | None,
    *,
    in_session: bool = True,
) -> tuple[str, list[ConditionResult]]:
    """(verdict, results): verdict "failed", "passed", or "" when nothing could be evaluated.
    `in_session` False (a CI checkpoint) says why a `start` threshold has no baseline."""
    results = []
    for c in validate(conditions):
        metric, op, threshold = c["metric"], c["op"], c["threshold"]
        actual = value(observations, metric)
        base = None
        if threshold == "start":
            base = value(baseline, metric) if baseline is not None else None
            limit = base
        else:
            limit = float(threshold)
        if actual is None:
            status, reason = NOT_MEASURED, f"{metric} was not measured"
        elif limit is None:
            status = NOT_MEASURED
            if baseline is not None:
                reason = f"{metric} was not measured at the session start"
            else:
                reason = NO_START if in_session else NO_SESSION
        else:
            ok = OPERATORS[op](round(actual, 6), round(limit, 6))
            status, reason = (PASSED if ok else FAILED), ""
        results.append(ConditionResult(metric, op, threshold, actual, base, status, reason))
    statuses = {r.status for r in results}
    verdict = FAILED if FAILED in statuses else PASSED if PASSED in statuses else ""
    return verdict, results
