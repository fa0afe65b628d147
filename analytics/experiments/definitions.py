"""The metrics an experiment can name, and which way each is better."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricDefinition:
    name: str
    label: str
    # "ratio": ΣM/ΣD over units, delta-method variance; "mean": the mean of per-unit values.
    kind: str
    higher_is_better: bool
    unit: str = ""


METRICS = {
    m.name: m
    for m in [
        MetricDefinition("completion_rate", "completion rate", "ratio", True, "rate"),
        MetricDefinition("tool_duration", "mean tool duration", "mean", False, "s"),
        MetricDefinition("quality_score_change", "quality-score change", "mean", True, "points"),
        MetricDefinition("tokens", "tokens", "mean", False, "tokens"),
        MetricDefinition("cost_usd", "cost", "mean", False, "USD"),
        MetricDefinition("tests_created", "tests created", "mean", True, "tests"),
        MetricDefinition("gate_failed_checkpoints", "gate-failed checkpoints", "mean", False),
    ]
}
METRIC_NAMES = tuple(METRICS)
