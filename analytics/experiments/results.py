"""An experiment's results per metric: per arm, and each arm against the control.

Conventions (docs/analytics.md, "Experiments"): the unit of analysis is the randomised unit;
`p_value` is the Welch test of the relative lift (GrowthBook's default) and `abs_p_value` that
of the absolute difference; goal metrics are corrected together by Benjamini–Hochberg
(`q_value`), guardrails are not. A flagged SRM makes every decision `invalid_srm`.
"""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
from django.utils import timezone

from analytics.anomalies import benjamini_hochberg
from analytics.experiments import statistics as st
from analytics.experiments.definitions import METRICS, MetricDefinition
from analytics.experiments.metrics import UnitValues, unit_metrics
from analytics.models import Experiment
from analytics.skills import wilson_interval

METHOD = "welch_t_delta_method_v1"
DECISIONS = ("ship", "rollback", "inconclusive", "insufficient_data", "invalid_srm")


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _arm_summary(definition: MetricDefinition, values: np.ndarray) -> st.ArmSummary | None:
    """The arm's (n, mean, variance) from its units' (numerator, denominator) rows."""
    if not len(values):
        return None
    if definition.kind == "ratio":
        return st.ratio(values[:, 0], values[:, 1])
    m = values[:, 0]
    return st.sample_mean(len(m), float(m.sum()), float(m @ m))


def _arm_row(
    definition: MetricDefinition,
    arm: str,
    units: int,
    values: np.ndarray,
    summary: st.ArmSummary | None,
) -> dict:
    numerator, denominator = (float(x) for x in values.sum(axis=0))
    interval = None
    if summary is not None:
        if definition.kind == "ratio":
            interval = wilson_interval(round(numerator), round(denominator))
        else:
            interval = st.t_interval(summary)
    return {
        "variant": arm,
        "units": units,
        "n": len(values),
        "units_without_data": units - len(values),
        "numerator": numerator,
        "denominator": denominator,
        "mean": summary.mean if summary else None,
        "ci_low": interval[0] if interval else None,
        "ci_high": interval[1] if interval else None,
        "ci_method": ("wilson" if definition.kind == "ratio" else "t") if interval else None,
    }


def _enough_data(definition: MetricDefinition, control: dict, treatment: dict) -> bool:
    """The anchors' minimum data: ≥ 8 units with data per arm; for a rate np ≥ 5 and
    n(1 − p) ≥ 5 per arm on the calls, and the larger arm's total ≥ 150 (GrowthBook)."""
    if min(control["n"], treatment["n"]) < st.SRM_MIN_UNITS:
        return False
    if definition.kind != "ratio":
        return True
    for arm in (control, treatment):
        if min(arm["numerator"], arm["denominator"] - arm["numerator"]) < st.MIN_SUCCESSES:
            return False
    return max(control["numerator"], treatment["numerator"]) >= st.MIN_TOTAL


def _comparison(
    definition: MetricDefinition,
    c: st.ArmSummary | None,
    t: st.ArmSummary | None,
    control: dict,
    treatment: dict,
) -> dict:
    result = st.compare(c, t, higher_is_better=definition.higher_is_better) if c and t else None
    row: dict = {"variant": treatment["variant"], "baseline": control["variant"]}
    names = (
        "abs_diff", "abs_ci_low", "abs_ci_high", "abs_p_value", "rel_lift", "rel_ci_low",
        "rel_ci_high", "p_value", "df", "chance_to_win", "mde_at_current_n",
    )  # fmt: skip
    for name in names:
        row[name] = _finite(getattr(result, name)) if result else None
    row["test"] = result.test if result else None
    row["alpha"] = st.ALPHA
    if result and c and t:
        if definition.kind == "ratio":
            row["effect_size"] = st.cohens_h(c.mean, t.mean)  # a rate: both in [0, 1]
            row["effect_size_kind"] = "cohens_h"
        else:
            row["effect_size"] = st.cohens_d(c, t)
            row["effect_size_kind"] = "cohens_d"
    else:
        row["effect_size"] = row["effect_size_kind"] = None
    row["enough_data"] = result is not None and _enough_data(definition, control, treatment)
    return row


def _decide(row: dict, definition: MetricDefinition, srm_flag: bool, p: float | None) -> str:
    if srm_flag:
        return "invalid_srm"
    if not row["enough_data"] or p is None:
        return "insufficient_data"
    if p >= st.ALPHA:
        return "inconclusive"
    improved = (row["abs_diff"] > 0) == definition.higher_is_better
    return "ship" if improved else "rollback"


def overall_decision(metrics: list[dict], srm_flag: bool) -> str:
    """The experiment's verdict: invalid_srm; else rollback if any metric says so; else ship if
    a goal says so; else insufficient_data if no goal has enough data; else inconclusive."""
    if srm_flag:
        return "invalid_srm"
    rows = [(m["role"], c["decision"]) for m in metrics for c in m["comparisons"]]
    if any(decision == "rollback" for _, decision in rows):
        return "rollback"
    goals = [decision for role, decision in rows if role == "goal"]
    if "ship" in goals:
        return "ship"
    if all(decision == "insufficient_data" for decision in goals):
        return "insufficient_data"
    return "inconclusive"


def experiment_results(experiment: Experiment, now: datetime | None = None) -> dict:
    """The results object of `GET /api/v1/experiments/<key>/results` (docs/api.md)."""
    now = now or timezone.now()
    arms = experiment.arm_keys
    assigned = dict(experiment.exposures.values_list("unit_id", "arm"))
    units = {arm: 0 for arm in arms}
    for arm in assigned.values():
        if arm in units:
            units[arm] += 1
    observed = [units[a] for a in arms]
    weights = [float(arm["weight"]) for arm in experiment.arms]
    srm_p = st.srm_p_value(observed, weights)
    srm_flag = st.srm_flagged(observed, srm_p)
    per_unit = unit_metrics(experiment)
    metrics = []
    for role, names in (("goal", experiment.metrics), ("guardrail", experiment.guardrail_metrics)):
        for name in names:
            metrics.append(_metric(name, role, arms, assigned, units, per_unit[name], srm_p))
    goal_rows = [c for m in metrics if m["role"] == "goal" for c in m["comparisons"]]
    testable = [c for c in goal_rows if c["p_value"] is not None]
    for row, q in zip(testable, benjamini_hochberg([c["p_value"] for c in testable]), strict=True):
        row["q_value"] = q
    for metric in metrics:
        definition = METRICS[metric["metric"]]
        for row in metric["comparisons"]:
            row["srm_flag"] = srm_flag
            p = row.get("q_value") if metric["role"] == "goal" else row["p_value"]
            row.setdefault("q_value", None)
            row["decision"] = _decide(row, definition, srm_flag, p)
    return {
        "experiment": experiment.key,
        "project": experiment.project.slug,
        "status": experiment.status,
        "unit": experiment.unit,
        "method": METHOD,
        "computed_at": now,
        "window_start": experiment.started_at,
        "window_end": experiment.stopped_at or now,
        "units": [
            {"variant": a, "units": units[a], "weight": w}
            for a, w in zip(arms, weights, strict=True)
        ],
        "n": sum(observed),
        "srm_p_value": srm_p,
        "srm_flag": srm_flag,
        "sequential": False,
        "n_star": experiment.planned_units,
        "decision": overall_decision(metrics, srm_flag),
        "metrics": metrics,
    }


def _metric(
    name: str,
    role: str,
    arms: list[str],
    assigned: dict[str, str],
    units: dict[str, int],
    values: UnitValues,
    srm_p: float | None,
) -> dict:
    definition = METRICS[name]
    # Each arm's units as an (n, 2) array of (numerator, denominator), in unit order.
    by_arm: dict[str, list[tuple[float, float]]] = {arm: [] for arm in arms}
    for unit, pair in sorted(values.items()):
        arm = assigned.get(unit)
        if arm in by_arm:
            by_arm[arm].append(pair)
    arrays = {
        arm: np.array(pairs, dtype=np.float64).reshape(-1, 2) for arm, pairs in by_arm.items()
    }
    summaries = {arm: _arm_summary(definition, arrays[arm]) for arm in arms}
    rows = [_arm_row(definition, arm, units[arm], arrays[arm], summaries[arm]) for arm in arms]
    comparisons = []
    for arm, row in zip(arms[1:], rows[1:], strict=True):
        comparison = _comparison(definition, summaries[arms[0]], summaries[arm], rows[0], row)
        comparison["srm_p_value"] = srm_p
        comparison["sequential"] = False
        comparisons.append(comparison)
    return {
        "metric": name,
        "label": definition.label,
        "role": role,
        "kind": definition.kind,
        "higher_is_better": definition.higher_is_better,
        "arms": rows,
        "comparisons": comparisons,
    }
