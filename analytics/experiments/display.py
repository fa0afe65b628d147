"""An experiment's results written for people (the results page), with lib.formatting."""

from __future__ import annotations

from datetime import datetime

from lib.formatting import DASH, figure, percent, signed

DECISION_BADGES = {
    "ship": "pass",
    "rollback": "fail",
    "invalid_srm": "fail",
    "inconclusive": "none",
    "insufficient_data": "none",
}


def _value(x: float | None, kind: str) -> str:
    if kind == "ratio":
        return percent(x, 1, fraction=True, missing=DASH)
    return figure(x, decimals="trimmed", missing=DASH)


def _p(x: float | None) -> str:
    if x is None:
        return DASH
    return f"{x:.2e}" if x < 0.001 else f"{x:.3f}"


def _interval(low: float | None, high: float | None) -> str:
    """A relative interval in percent: "+0.8 % – +20.0 %"."""
    if low is None or high is None:
        return DASH
    return f"{signed(low * 100, ' %')} – {signed(high * 100, ' %')}"


def displayed(results: dict) -> dict:
    """The results (as stored: JSON) with each figure as text: rates in percent, others as
    measured, and the computation time as a moment again."""
    metrics = []
    for metric in results["metrics"]:
        kind = metric["kind"]
        arms = [
            {
                **arm,
                "mean_text": _value(arm["mean"], kind),
                "ci_text": (
                    f"{_value(arm['ci_low'], kind)} – {_value(arm['ci_high'], kind)}"
                    if arm["ci_low"] is not None
                    else DASH
                ),
            }
            for arm in metric["arms"]
        ]
        comparisons = [
            {
                **c,
                "abs_text": _value(c["abs_diff"], kind)
                if kind != "ratio"
                else signed(
                    None if c["abs_diff"] is None else c["abs_diff"] * 100, " pt", missing=DASH
                ),
                "rel_text": signed(
                    None if c["rel_lift"] is None else c["rel_lift"] * 100, " %", missing=DASH
                ),
                "rel_ci_text": _interval(c["rel_ci_low"], c["rel_ci_high"]),
                "p_text": _p(c["p_value"]),
                "q_text": _p(c["q_value"]),
                "abs_p_text": _p(c["abs_p_value"]),
                "win_text": percent(c["chance_to_win"], 1, fraction=True, missing=DASH),
                "badge": DECISION_BADGES[c["decision"]],
            }
            for c in metric["comparisons"]
        ]
        metrics.append({**metric, "arms": arms, "comparisons": comparisons})
    return {
        **results,
        "computed_at": datetime.fromisoformat(results["computed_at"]),
        "metrics": metrics,
        "srm_text": _p(results["srm_p_value"]),
        "badge": DECISION_BADGES[results["decision"]],
    }
