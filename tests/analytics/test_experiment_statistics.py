"""The comparison statistics against vectors AB-1 to AB-6 of the analytics anchors, and
against scipy/statsmodels computing the same tests another way on the same data."""

from __future__ import annotations

import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from analytics.experiments.statistics import (
    ArmSummary,
    cohens_d,
    cohens_h,
    compare,
    proportion,
    ratio,
    sample_mean,
    sequential_interval,
    srm_flagged,
    srm_p_value,
)
from analytics.skills import wilson_interval

approx = pytest.approx


def test_ab1_binary_480_of_1000_against_530_of_1000():
    control, treatment = proportion(480, 1000), proportion(530, 1000)
    result = compare(control, treatment)
    assert result is not None
    assert result.abs_diff == approx(0.05)
    assert result.abs_se == approx(0.022332, abs=1e-6)
    assert result.df == approx(1997.998, abs=1e-3)
    assert (result.abs_ci_low, result.abs_ci_high) == approx((0.006204, 0.093796), abs=1e-6)
    assert result.abs_p_value == approx(0.025267, abs=1e-6)
    assert result.rel_lift == approx(0.104167, abs=1e-6)
    assert result.rel_se == approx(0.049010, abs=1e-6)
    assert (result.rel_ci_low, result.rel_ci_high) == approx((0.008051, 0.200282), abs=1e-6)
    assert result.p_value == approx(0.033673, abs=1e-6)
    assert result.chance_to_win == approx(0.983225, abs=1e-6)
    assert result.mde_at_current_n == approx(0.0626, abs=1e-4)
    assert cohens_h(0.48, 0.53) == approx(0.100047, abs=1e-6)
    assert wilson_interval(480, 1000) == approx((0.449171, 0.510982), abs=1e-6)
    assert wilson_interval(530, 1000) == approx((0.499010, 0.560760), abs=1e-6)


def test_ab1_sequential_intervals_with_n_star_5000():
    result = compare(proportion(480, 1000), proportion(530, 1000))
    assert result is not None
    low, high = sequential_interval(result.rel_lift, result.rel_se, 2000, 5000)
    assert (low, high) == approx((-0.048929, 0.257262), abs=1e-6)
    low, high = sequential_interval(result.abs_diff, result.abs_se, 2000, 5000)
    assert (low, high) == approx((-0.019759, 0.119759), abs=1e-6)


@pytest.mark.parametrize(
    ("observed", "p", "flagged"),
    [
        ([1000, 1000], 1.0, False),
        ([5100, 4900], 0.0455, False),
        ([480, 520], 0.205903, False),
        ([5200, 4800], 6.33e-5, True),
    ],
)
def test_ab2_sample_ratio_mismatch_at_50_50(observed, p, flagged):
    value = srm_p_value(observed, [0.5, 0.5])
    assert value == approx(p, rel=1e-3)
    assert srm_flagged(observed, value) is flagged


def test_srm_is_not_flagged_below_8_units_an_arm():
    value = srm_p_value([7, 0], [0.5, 0.5])
    assert value is not None and value < 0.01
    assert srm_flagged([7, 0], 0.0001) is False


def test_ab3_gbstats_frequentist_expectations():
    result = compare(proportion(14, 28), proportion(16, 30))
    assert result is not None
    assert result.rel_lift == approx(0.06667, abs=1e-5)
    assert result.rel_se == approx(0.2717, abs=1e-4)
    assert (result.rel_ci_low, result.rel_ci_high) == approx((-0.47767, 0.61101), abs=1e-5)
    assert result.p_value == approx(0.80707, abs=1e-5)

    means = compare(sample_mean(3407, 1396.87, 52377.9767), sample_mean(3461, 2422.7, 134698.29))
    assert means is not None
    assert means.rel_lift == approx(0.70732, abs=1e-5)
    assert (means.rel_ci_low, means.rel_ci_high) == approx((-0.03526, 1.44989), abs=1e-5)
    assert means.p_value == approx(0.06191, abs=1e-5)
    assert means.abs_diff == approx(0.29, abs=1e-5)
    assert (means.abs_ci_low, means.abs_ci_high) == approx((0.04538, 0.53462), abs=1e-5)
    assert means.abs_p_value == approx(0.02016, abs=1e-5)


def test_ab3_bayesian_chance_to_win_with_a_flat_prior():
    result = compare(proportion(49, 100), proportion(51, 100))
    assert result is not None
    assert result.rel_lift == approx(0.04082, abs=1e-5)
    assert result.rel_se == approx(0.14725, abs=1e-5)
    assert result.chance_to_win == approx(0.60918, abs=1e-5)
    z = stats.norm.ppf(0.975)
    assert result.rel_lift - z * result.rel_se == approx(-0.24779, abs=1e-5)
    assert result.rel_lift + z * result.rel_se == approx(0.32943, abs=1e-5)


def test_ab3_sequential_expectation():
    result = compare(proportion(1396, 3000), proportion(2422, 3461))
    assert result is not None
    assert result.rel_lift == approx(0.50386, abs=1e-5)
    assert result.rel_se == approx(0.03386, abs=1e-5)
    low, high = sequential_interval(result.rel_lift, result.rel_se, 6461, 5000)
    assert (low, high) == approx((0.40098, 0.60675), abs=1e-5)


def test_ab4_duration_summary_stats():
    # From the means and standard deviations given: the variance is the sd squared.
    control, treatment = ArmSummary(400, 42.0, 30.0**2), ArmSummary(410, 37.5, 27.0**2)
    result = compare(control, treatment, higher_is_better=True)
    assert result is not None
    assert result.abs_diff / result.abs_se == approx(-2.242153, abs=1e-6)
    assert result.df == approx(794.66, abs=1e-2)
    assert result.abs_p_value == approx(0.025227, abs=1e-6)
    assert (result.abs_ci_low, result.abs_ci_high) == approx((-8.439648, -0.560352), abs=1e-6)
    assert result.rel_lift == approx(-0.107143, abs=1e-6)
    assert (result.rel_ci_low, result.rel_ci_high) == approx((-0.195471, -0.018814), abs=1e-6)
    assert result.p_value == approx(0.017497, abs=1e-6)
    assert result.chance_to_win == approx(0.008631, abs=1e-6)  # P(treatment higher)
    lower_better = compare(control, treatment, higher_is_better=False)
    assert lower_better is not None
    assert lower_better.chance_to_win == approx(1 - 0.008631, abs=1e-6)
    assert cohens_d(control, treatment) == approx(-0.157779, abs=1e-6)


CTRL = [12.1, 30.5, 8.2, 45.0, 22.3, 15.7, 60.2, 9.9, 18.4, 27.6]
TRT = [10.4, 25.1, 7.9, 33.3, 19.8, 12.2, 41.0, 8.8, 16.0, 21.5]


def sums(values: list[float]):
    return sample_mean(len(values), sum(values), sum(v * v for v in values))


def test_ab5_raw_durations_welch_matches_scipy_on_the_raw_values():
    result = compare(sums(CTRL), sums(TRT))
    assert result is not None
    assert result.abs_diff / result.abs_se == approx(-0.855150, abs=1e-6)
    assert result.abs_p_value == approx(0.405416, abs=1e-6)
    raw = stats.ttest_ind(TRT, CTRL, equal_var=False)
    assert result.abs_p_value == approx(raw.pvalue, rel=1e-9)
    assert result.df == approx(raw.df, rel=1e-9)
    low, high = raw.confidence_interval()
    assert (result.abs_ci_low, result.abs_ci_high) == approx((low, high))


C_USERS = [(3, 4), (5, 5), (1, 3), (4, 4), (0, 2), (6, 8)]
T_USERS = [(2, 2), (6, 6), (3, 4), (5, 5), (4, 4), (7, 8)]


def test_ab6_users_not_outcomes():
    control = ratio([m for m, _ in C_USERS], [d for _, d in C_USERS])
    treatment = ratio([m for m, _ in T_USERS], [d for _, d in T_USERS])
    assert control.mean == approx(0.730769, abs=1e-6)
    assert control.variance == approx(0.069861, abs=1e-6)
    assert treatment.mean == approx(0.931034, abs=1e-6)
    assert treatment.variance == approx(0.009508, abs=1e-6)
    result = compare(control, treatment)
    assert result is not None
    assert result.abs_diff == approx(0.200265, abs=1e-6)
    assert result.abs_se == approx(0.115014, abs=1e-6)
    assert result.df == approx(6.336, abs=1e-3)
    assert (result.abs_ci_low, result.abs_ci_high) == approx((-0.077583, 0.478113), abs=1e-6)
    assert result.abs_p_value == approx(0.129655, abs=1e-6)
    # The reference's outcome-level Student t on 0/1 values: a false "significant".
    zeros_ones_c = [1] * 19 + [0] * 7
    zeros_ones_t = [1] * 27 + [0] * 2
    wrong = stats.ttest_ind(zeros_ones_t, zeros_ones_c)
    assert wrong.pvalue == approx(0.045976, abs=1e-6)
    assert result.abs_p_value > 0.05


def test_ratio_delta_method_variance_matches_the_covariance_matrix_of_numpy_ddof_1():
    import numpy as np

    m = np.array([m for m, _ in C_USERS], dtype=float)
    d = np.array([d for _, d in C_USERS], dtype=float)
    cov = np.cov(m, d, ddof=1)
    gradient = np.array([1 / d.mean(), -m.mean() / d.mean() ** 2])
    assert ratio(list(m), list(d)).variance == approx(float(gradient @ cov @ gradient))


def test_wilson_agrees_with_statsmodels():
    for ok, n in [(0, 10), (10, 10), (7, 23), (480, 1000)]:
        low, high = proportion_confint(ok, n, method="wilson")
        assert wilson_interval(ok, n) == approx((low, high))


def test_no_comparison_without_two_units_or_variance_or_a_control_mean():
    assert compare(proportion(1, 1), proportion(5, 10)) is None
    assert compare(sample_mean(3, 3.0, 3.0), sample_mean(3, 6.0, 12.0)) is None
    assert compare(proportion(0, 10), proportion(5, 10)) is None


def test_cohens_h_is_zero_for_equal_rates_and_signed():
    assert cohens_h(0.5, 0.5) == 0
    assert cohens_h(0.6, 0.4) == approx(-0.402716, abs=1e-6)
