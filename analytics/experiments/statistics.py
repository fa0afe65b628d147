"""The statistics of an experiment's comparison, GrowthBook's frequentist conventions.

Every arm is summarised as (n, mean, per-unit variance); a ratio metric's variance is the delta
method's (GrowthBook `RatioStatistic`: (σ²_M − 2(μ_M/μ_D)σ_MD + σ²_D μ²_M/μ²_D) / μ²_D, sample
moments with n − 1). The comparison is a Welch t on the absolute difference (`abs_p_value`) and
on the relative lift with its delta-method variance σ²_C μ²_T/(μ⁴_C n_C) + σ²_T/(μ²_C n_T)
(`p_value`, GrowthBook's default), both with the Welch–Satterthwaite degrees of freedom. The
distributions are scipy's. The vectors these are held to are AB-1 to AB-6 of the analytics
anchors (tests/analytics/test_experiment_statistics.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

ALPHA = 0.05
POWER = 0.8
SRM_P = 0.001  # GrowthBook's DEFAULT_SRM_THRESHOLD
SRM_MIN_UNITS = 8  # GrowthBook's minimum count per variation before SRM is checked
MIN_TOTAL = 150  # GrowthBook's minSampleSize: the larger arm's metric total
MIN_SUCCESSES = 5  # np ≥ 5 and n(1 − p) ≥ 5 per arm (PostHog's proportion rule)


@dataclass(frozen=True)
class ArmSummary:
    """One arm of one metric: n units with data, their mean and the per-unit variance."""

    n: int
    mean: float
    variance: float


def proportion(successes: int, n: int) -> ArmSummary:
    """A proportion metric: mean p, variance p(1 − p) (GrowthBook `ProportionStatistic`)."""
    p = successes / n
    return ArmSummary(n, p, p * (1 - p))


def sample_mean(n: int, total: float, total_sq: float) -> ArmSummary:
    """A mean metric from its sums: variance (Σy² − (Σy)²/n)/(n − 1) (`SampleMeanStatistic`)."""
    mean = total / n
    variance = max(0.0, (total_sq - total * total / n) / (n - 1)) if n > 1 else 0.0
    return ArmSummary(n, mean, variance)


def ratio(numerators: ArrayLike, denominators: ArrayLike) -> ArmSummary:
    """A ratio metric ΣM/ΣD over units (one M and one D each), delta-method variance."""
    m = np.asarray(numerators, dtype=np.float64)
    d = np.asarray(denominators, dtype=np.float64)
    n = len(m)
    m_mean = float(m.mean())
    d_mean = float(d.mean())
    if n > 1:
        m_dev, d_dev = m - m_mean, d - d_mean
        m_var = float(m_dev @ m_dev) / (n - 1)
        d_var = float(d_dev @ d_dev) / (n - 1)
        covariance = float(m_dev @ d_dev) / (n - 1)
    else:
        m_var = d_var = covariance = 0.0
    mean = m_mean / d_mean
    variance = (m_var - 2 * mean * covariance + d_var * mean * mean) / (d_mean * d_mean)
    return ArmSummary(n, mean, max(0.0, variance))


def welch_df(control: ArmSummary, treatment: ArmSummary) -> float:
    """Welch–Satterthwaite degrees of freedom of the two arms' variances of the mean."""
    a = control.variance / control.n
    b = treatment.variance / treatment.n
    return (a + b) ** 2 / (a * a / (control.n - 1) + b * b / (treatment.n - 1))


@dataclass(frozen=True)
class Comparison:
    """Treatment against control: the absolute difference and the relative lift."""

    abs_diff: float
    abs_se: float
    abs_ci_low: float
    abs_ci_high: float
    abs_p_value: float
    rel_lift: float
    rel_se: float
    rel_ci_low: float
    rel_ci_high: float
    p_value: float
    df: float
    chance_to_win: float
    mde_at_current_n: float
    test: str = "welch_t"


def compare(
    control: ArmSummary,
    treatment: ArmSummary,
    *,
    higher_is_better: bool = True,
    alpha: float = ALPHA,
) -> Comparison | None:
    """Welch t on the absolute and the relative difference; None when it is undefined (an arm
    with fewer than 2 units, no variance in both arms, or a control mean of 0)."""
    if control.n < 2 or treatment.n < 2 or control.mean == 0:
        return None
    if control.variance + treatment.variance == 0:
        return None
    diff = treatment.mean - control.mean
    abs_se = math.sqrt(control.variance / control.n + treatment.variance / treatment.n)
    welch = stats.ttest_ind_from_stats(
        treatment.mean,
        math.sqrt(treatment.variance),
        treatment.n,
        control.mean,
        math.sqrt(control.variance),
        control.n,
        equal_var=False,
    )
    df = welch_df(control, treatment)
    t_crit = float(stats.t.ppf(1 - alpha / 2, df))
    mc, mt = control.mean, treatment.mean
    rel = diff / mc
    rel_se = math.sqrt(
        control.variance * mt * mt / (mc**4 * control.n)
        + treatment.variance / (mc * mc * treatment.n)
    )
    rel_p = float(2 * stats.t.sf(abs(rel / rel_se), df))
    # Chance to win under a flat prior on the relative lift (GrowthBook's Bayesian engine):
    # the posterior is N(rel, rel_se²); winning is moving the metric its good way.
    win = stats.norm.sf(0, loc=rel, scale=rel_se)
    mde = (stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(POWER)) * abs_se
    return Comparison(
        abs_diff=diff,
        abs_se=abs_se,
        abs_ci_low=diff - t_crit * abs_se,
        abs_ci_high=diff + t_crit * abs_se,
        abs_p_value=float(welch.pvalue),
        rel_lift=rel,
        rel_se=rel_se,
        rel_ci_low=rel - t_crit * rel_se,
        rel_ci_high=rel + t_crit * rel_se,
        p_value=rel_p,
        df=df,
        chance_to_win=float(win if higher_is_better else 1 - win),
        mde_at_current_n=float(mde),
    )


def t_interval(arm: ArmSummary, alpha: float = ALPHA) -> tuple[float, float] | None:
    """The t confidence interval of an arm's mean; None with fewer than 2 units."""
    if arm.n < 2:
        return None
    half = float(stats.t.ppf(1 - alpha / 2, arm.n - 1)) * math.sqrt(arm.variance / arm.n)
    return arm.mean - half, arm.mean + half


def cohens_h(p_control: float, p_treatment: float) -> float:
    """Cohen's h for two proportions: 2·asin√p_T − 2·asin√p_C."""
    return 2 * math.asin(math.sqrt(p_treatment)) - 2 * math.asin(math.sqrt(p_control))


def cohens_d(control: ArmSummary, treatment: ArmSummary) -> float | None:
    """Cohen's d: the difference of means over the pooled standard deviation."""
    dof = control.n + treatment.n - 2
    pooled = ((control.n - 1) * control.variance + (treatment.n - 1) * treatment.variance) / dof
    if pooled <= 0:
        return None
    return (treatment.mean - control.mean) / math.sqrt(pooled)


def srm_p_value(observed: Sequence[int], weights: Sequence[float]) -> float | None:
    """Pearson χ² p-value of the units per arm against the weights' shares (df = arms − 1);
    None without units."""
    total = sum(observed)
    if total == 0:
        return None
    share = sum(weights)
    expected = [w / share * total for w in weights]
    return float(stats.chisquare(observed, f_exp=expected).pvalue)


def srm_flagged(observed: Sequence[int], p_value: float | None) -> bool:
    """A sample-ratio mismatch: p < 0.001, checked only when every arm has ≥ 8 units."""
    return p_value is not None and min(observed) >= SRM_MIN_UNITS and p_value < SRM_P


def sequential_interval(
    estimate: float, se: float, n_total: int, n_star: int, alpha: float = ALPHA
) -> tuple[float, float]:
    """GrowthBook's asymptotic confidence sequence (Waudby-Smith et al., eq. 9 and 161): an
    always-valid interval around `estimate` for N = n_total units, tuned for N* = n_star."""
    rho2 = (-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / n_star
    n = n_total
    s2 = se * se * n
    width = math.sqrt(s2) * math.sqrt(
        2 * (n * rho2 + 1) * math.log(math.sqrt(n * rho2 + 1) / alpha) / (n * n * rho2)
    )
    return estimate - width, estimate + width
