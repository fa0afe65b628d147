"""The statistics of anomaly detection, as plain functions of counts (no database).

Three tests, each one-sided in the direction the window moved, each with a p-value so that one
run's tests of a kind are corrected together (Benjamini–Hochberg):

- completion rate: Fisher's exact test on the 2×2 table of completed/failed, window against
  baseline; the deviation score is the pooled two-proportion z. Exact at any n, and a 0 % or
  100 % baseline can still be flagged (its pooled rate is not 0 or 1 once the window differs);
- volume: the window's invocation count against the same hour of day on the previous days, as
  a conditional binomial test (the exact comparison of two Poisson rates);
- duration: a robust z of the window's mean duration against the baseline's hourly means
  (median and MAD, the MAD floored at a share of the median so a constant baseline still has a
  scale); its p-value is the normal tail of that z.

`analytics.detection` reads the rollups, applies these and keeps the stored lifecycle.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from scipy import stats

DROP = "drop"
SPIKE = "spike"

# Flag rules (all must hold) and the minimum data of each test.
Q_MAX = 0.01
P_MAX = 0.001
MIN_RATE_DELTA = 0.10
RATE_MIN_WINDOW = 5
RATE_MIN_BASELINE = 20
VOLUME_MIN_BASELINE = 20
VOLUME_DAYS = 7
DURATION_MIN_WINDOW = 5
DURATION_MIN_BASELINE_HOURS = 12
DURATION_Z = 3.5
MAD_SCALE = 1.4826
MAD_FLOOR_SHARE = 0.05
# Hysteresis: an open anomaly resolves after this many consecutive evaluations with p above
# RESOLVE_P in its own direction.
RESOLVE_P = 0.05
RESOLVE_AFTER = 2

RATE_METHOD = "fisher_exact_v1"
VOLUME_METHOD = "poisson_cond_binom_v1"
DURATION_METHOD = "robust_z_hourly_mean_v1"


@dataclass
class TestResult:
    """One skill's test in one run: p-values both ways, and the figures it was computed on.

    `direction` is where the window moved; `p_value` is the test in that direction, the one
    that enters the run's BH family; `p_by_direction` serves an open anomaly of either
    direction deciding whether it has cleared.
    """

    skill: str
    metric: str
    method: str
    direction: str
    p_by_direction: dict[str, float]
    deviation_score: float
    observed_value: float
    observed_n: int
    baseline_value: float
    baseline_n: int
    practical: bool = True
    details: dict = field(default_factory=dict)
    q_value: float | None = None

    @property
    def p_value(self) -> float:
        return self.p_by_direction[self.direction]

    @property
    def flagged(self) -> bool:
        """The flag rule, once `q_value` is set by the run's BH correction."""
        return (
            self.q_value is not None
            and self.q_value < Q_MAX
            and self.p_value < P_MAX
            and self.practical
        )


def two_proportion_z(ok1: int, n1: int, ok2: int, n2: int) -> float | None:
    """z for p1 − p2 with the pooled standard error; None when it is undefined (SE = 0)."""
    pooled = (ok1 + ok2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return None
    return (ok1 / n1 - ok2 / n2) / se


def fisher_one_sided(ok_c: int, n_c: int, ok_b: int, n_b: int, direction: str) -> float:
    """One-sided Fisher exact p of the window (ok_c of n_c) against the baseline (ok_b of n_b):
    `drop` tests a lower window rate (alternative "less"), `spike` a higher one."""
    table = [[ok_c, n_c - ok_c], [ok_b, n_b - ok_b]]
    alternative = "less" if direction == DROP else "greater"
    return float(stats.fisher_exact(table, alternative=alternative).pvalue)


def completion_rate_test(skill: str, ok_c: int, n_c: int, ok_b: int, n_b: int) -> TestResult | None:
    """The completion-rate test of one skill; None (insufficient data) below the minimum n.

    n are decided invocations (completed + failed). An unchanged rate is tested as a drop, which
    gives p = 1 (nothing to report).
    """
    if n_c < RATE_MIN_WINDOW or n_b < RATE_MIN_BASELINE:
        return None
    rate_c, rate_b = ok_c / n_c, ok_b / n_b
    z = two_proportion_z(ok_c, n_c, ok_b, n_b)
    return TestResult(
        skill=skill,
        metric="completion_rate",
        method=RATE_METHOD,
        direction=SPIKE if rate_c > rate_b else DROP,
        p_by_direction={d: fisher_one_sided(ok_c, n_c, ok_b, n_b, d) for d in (DROP, SPIKE)},
        # Both windows all-success (or all-failure): no deviation at all.
        deviation_score=z if z is not None else 0.0,
        observed_value=rate_c,
        observed_n=n_c,
        baseline_value=rate_b,
        baseline_n=n_b,
        practical=abs(rate_c - rate_b) >= MIN_RATE_DELTA,
        details={"completed": ok_c, "baseline_completed": ok_b},
    )


def volume_test(skill: str, count: int, same_hours: Sequence[int]) -> TestResult | None:
    """The window's invocation count against the same hour of day on the previous days.

    Under H₀ both are Poisson with one rate, so given the total the window's share is
    Binomial(C + c, 1/(h + 1)) for h baseline hours totalling C. None when C < the minimum.
    """
    total, hours = sum(same_hours), len(same_hours)
    if total < VOLUME_MIN_BASELINE or hours == 0:
        return None
    share = 1 / (hours + 1)
    n = total + count
    expected = n * share
    p = {
        DROP: float(stats.binomtest(count, n, share, alternative="less").pvalue),
        SPIKE: float(stats.binomtest(count, n, share, alternative="greater").pvalue),
    }
    return TestResult(
        skill=skill,
        metric="volume",
        method=VOLUME_METHOD,
        direction=SPIKE if count > expected else DROP,
        p_by_direction=p,
        deviation_score=(count - expected) / math.sqrt(n * share * (1 - share)),
        observed_value=float(count),
        observed_n=count,
        baseline_value=total / hours,
        baseline_n=total,
        details={"baseline_hours": list(same_hours)},
    )


def robust_z(value: float, baseline: Sequence[float]) -> float | None:
    """(value − median) / max(1.4826·MAD, 0.05·median); None when that scale is 0."""
    median = statistics.median(baseline)
    mad = statistics.median(abs(x - median) for x in baseline)
    scale = max(MAD_SCALE * mad, MAD_FLOOR_SHARE * abs(median))
    if scale == 0:
        return None
    return (value - median) / scale


def duration_test(
    skill: str, mean: float | None, n: int, hourly_means: Sequence[float]
) -> TestResult | None:
    """The window's mean duration (of n durations) against the baseline's hourly means.

    None below DURATION_MIN_WINDOW durations or DURATION_MIN_BASELINE_HOURS baseline hours, or
    when the robust scale is 0 (every duration 0).
    """
    if mean is None or n < DURATION_MIN_WINDOW or len(hourly_means) < DURATION_MIN_BASELINE_HOURS:
        return None
    z = robust_z(mean, hourly_means)
    if z is None:
        return None
    return TestResult(
        skill=skill,
        metric="duration",
        method=DURATION_METHOD,
        direction=SPIKE if z > 0 else DROP,
        p_by_direction={DROP: float(stats.norm.cdf(z)), SPIKE: float(stats.norm.sf(z))},
        deviation_score=z,
        observed_value=mean,
        observed_n=n,
        baseline_value=statistics.median(hourly_means),
        baseline_n=len(hourly_means),
        practical=abs(z) >= DURATION_Z,
    )


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """BH-adjusted q-values in the order given: q_(i) = min over j ≥ i of p_(j)·m/j, at most 1."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    q = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p_values[i] * m / rank)
        q[i] = running
    return q


def correct(family: list[TestResult]) -> None:
    """Set each test's q_value by BH over its family, and list the family's p in its params."""
    q = benjamini_hochberg([t.p_value for t in family])
    listed = [{"skill": t.skill, "p_value": t.p_value} for t in family]
    for test, value in zip(family, q, strict=True):
        test.q_value = value
        test.details["family_p_values"] = listed
