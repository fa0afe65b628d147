"""What makes an experiment's arms and metrics valid: shared by the API's serializer and the
model's `clean()` (the admin), so both refuse the same designs with the same reasons."""

from __future__ import annotations

import math

from analytics.experiments.definitions import METRIC_NAMES
from lib.text import check_text

MAX_ARMS = 10
MAX_ARM_KEY = 50
MAX_CONTEXT = 10_000
WEIGHT_TOLERANCE = 1e-6


def arms_problem(arms: object) -> str | None:
    """Why `arms` is not a valid list of `{key, weight, context}`, or None when it is."""
    if not isinstance(arms, list) or not 2 <= len(arms) <= MAX_ARMS:
        return f"a list of 2 to {MAX_ARMS} arms, the first being the control"
    keys = []
    total = 0.0
    for index, arm in enumerate(arms):
        if not isinstance(arm, dict) or set(arm) - {"key", "weight", "context"}:
            return f"arm {index}: an object with key, weight and context only"
        key, weight, context = arm.get("key"), arm.get("weight"), arm.get("context", "")
        try:
            check_text(key, f"arms[{index}].key", MAX_ARM_KEY)
            check_text(context, f"arms[{index}].context", MAX_CONTEXT)
        except ValueError as exc:
            return str(exc)
        if not key:
            return f"arm {index}: key must not be empty"
        if not isinstance(weight, int | float) or isinstance(weight, bool):
            return f"arm {index}: weight must be a number above 0"
        if not math.isfinite(weight) or weight <= 0:
            return f"arm {index}: weight must be a number above 0"
        keys.append(key)
        total += weight
    if len(set(keys)) != len(keys):
        return "arm keys must be distinct"
    if abs(total - 1) > WEIGHT_TOLERANCE:
        return f"the weights must sum to 1 (they sum to {total:g})"
    return None


def metrics_problem(goals: object, guardrails: object) -> str | None:
    """Why the goal and guardrail metric lists are not valid, or None when they are."""
    for name, names in (("metrics", goals), ("guardrail_metrics", guardrails)):
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            return f"{name}: a list of metric names"
        unknown = [n for n in names if n not in METRIC_NAMES]
        if unknown:
            return f"{name}: unknown {unknown[0]!r}; one of {', '.join(METRIC_NAMES)}"
        if len(set(names)) != len(names):
            return f"{name}: each metric at most once"
    assert isinstance(goals, list) and isinstance(guardrails, list)
    if not goals:
        return "metrics: at least one goal metric"
    if set(goals) & set(guardrails):
        return "a metric is either a goal or a guardrail, not both"
    return None
