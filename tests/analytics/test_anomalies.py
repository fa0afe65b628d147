"""analytics.anomalies: the tests it applies, on counts alone, against worked vectors.

The vectors (AN-*, BH-1, VOL-*, SEAS-1, DUR-*) were computed independently with scipy 1.17.1
and statsmodels 0.15.0; each is also checked against those libraries on the same data.
"""

from __future__ import annotations

import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from analytics.anomalies import (
    DROP,
    SPIKE,
    benjamini_hochberg,
    completion_rate_test,
    correct,
    duration_test,
    robust_z,
    two_proportion_z,
    volume_test,
)

# id: (baseline completed, baseline decided, window completed, window decided, p, z, flagged)
RATE_VECTORS = {
    "AN-1": (200, 200, 6, 10, DROP, 2.66705e-6, -9.030692, True),
    "AN-2": (180, 200, 8, 10, DROP, 0.281785, -1.007707, False),
    "AN-3": (900, 1000, 30, 60, DROP, 1.07748e-13, -9.174352, True),
    "AN-4": (20, 20, 5, 10, DROP, 0.00176835, -3.464102, False),
    "AN-6": (0, 150, 7, 10, SPIKE, 2.57372e-10, 10.478737, True),
    "AN-7": (9500, 10000, 930, 1000, DROP, 0.00537324, -2.720488, False),
    "AN-8": (200, 200, 10, 10, DROP, 1.0, 0.0, False),
}


@pytest.mark.parametrize("name", sorted(RATE_VECTORS))
def test_the_completion_rate_test_gives_the_vectors(name):
    ok_b, n_b, ok_c, n_c, direction, p, z, flagged = RATE_VECTORS[name]
    test = completion_rate_test("s", ok_c, n_c, ok_b, n_b)
    assert test is not None
    assert test.direction == direction
    assert test.p_value == pytest.approx(p, rel=1e-5)
    assert test.deviation_score == pytest.approx(z, abs=1e-6)
    # Each vector is a single-skill run, so its family is itself and q = p.
    correct([test])
    assert test.q_value == test.p_value
    assert test.flagged is flagged
    alternative = "less" if direction == DROP else "greater"
    table = [[ok_c, n_c - ok_c], [ok_b, n_b - ok_b]]
    assert test.p_value == stats.fisher_exact(table, alternative=alternative).pvalue


def test_a_window_below_five_decided_outcomes_is_insufficient_data():
    assert completion_rate_test("s", 0, 3, 200, 200) is None  # AN-5
    assert completion_rate_test("s", 0, 5, 19, 19) is None  # a baseline under 20
    assert completion_rate_test("s", 0, 5, 20, 20) is not None


def test_the_pooled_z_is_undefined_only_when_both_windows_agree_entirely():
    assert two_proportion_z(4, 10, 40, 40) == pytest.approx(-5.2223, abs=1e-4)
    assert two_proportion_z(5, 5, 40, 40) is None


BH_P = [1.2e-5, 4e-4, 3e-3, 0.02, 0.2, 0.5, 0.8, 0.9]
BH_Q = [9.6e-5, 0.0016, 0.008, 0.04, 0.32, 0.666667, 0.9, 0.9]


def test_benjamini_hochberg_gives_bh_1_and_agrees_with_statsmodels():
    q = benjamini_hochberg(BH_P)
    assert q == pytest.approx(BH_Q, rel=1e-6)
    assert q == pytest.approx(list(multipletests(BH_P, method="fdr_bh")[1]), rel=1e-12)
    # Order does not matter: each q stays with its p.
    order = (7, 2, 0, 5, 1, 6, 3, 4)
    shuffled = [BH_P[i] for i in order]
    assert benjamini_hochberg(shuffled) == pytest.approx([BH_Q[i] for i in order])
    assert benjamini_hochberg([]) == []


def test_in_bh_1_three_pass_q_and_two_are_flagged_with_the_raw_p_rule():
    # Eight skills each dropping 100 % → 0 % (|Δ| = 1), their p set to BH-1's.
    family = []
    for i, p in enumerate(BH_P):
        test = completion_rate_test(f"s{i}", 0, 10, 100, 100)
        assert test is not None
        test.p_by_direction = {DROP: p, SPIKE: 1.0}
        family.append(test)
    correct(family)
    assert [(t.q_value or 1.0) < 0.01 for t in family] == [True] * 3 + [False] * 5
    assert [t.flagged for t in family] == [True, True] + [False] * 6
    assert family[0].details["family_p_values"][3] == {"skill": "s3", "p_value": 0.02}


@pytest.mark.parametrize(
    ("count", "direction", "p"),
    [(12, DROP, 7.55139e-7), (70, SPIKE, 4.82795e-5)],
)
def test_the_volume_test_gives_vol_1_and_2(count, direction, p):
    test = volume_test("s", count, [40] * 7)
    assert test is not None
    assert (test.direction, test.baseline_value, test.baseline_n) == (direction, 40.0, 280)
    assert test.p_value == pytest.approx(p, rel=1e-5)
    alternative = "less" if direction == DROP else "greater"
    assert test.p_value == stats.binomtest(count, 280 + count, 1 / 8, alternative).pvalue


def test_the_volume_test_matches_the_hour_of_day_seas_1():
    test = volume_test("s", 2, [4, 6, 5, 3, 5, 4, 6])
    assert test is not None
    assert test.p_value == pytest.approx(0.169429, rel=1e-5)
    correct([test])
    assert not test.flagged
    assert volume_test("s", 0, [2, 3, 2, 3, 2, 3, 4]) is None  # C = 19 < 20


DUR_1 = [10.1, 9.8, 10.5, 10.0, 9.9, 10.2, 11.0, 9.7, 10.3, 10.4, 9.6, 10.0]


def test_the_robust_z_gives_dur_1_and_dur_2():
    assert robust_z(10.9, DUR_1) == pytest.approx(1.691542, abs=1e-6)
    assert robust_z(18.0, DUR_1) == pytest.approx(15.820896, abs=1e-6)
    # MAD 0: the floor (5 % of the median) still gives a scale, so a change is seen.
    assert robust_z(10.4, [10.0] * 12) == pytest.approx(0.8)
    assert robust_z(20.0, [10.0] * 12) == pytest.approx(20.0)
    assert robust_z(1.0, [0.0] * 12) is None


def test_the_duration_test_flags_at_3_5_and_needs_five_durations():
    slow = duration_test("s", 18.0, 5, DUR_1)
    assert slow is not None
    correct([slow])
    assert (slow.direction, slow.flagged) == (SPIKE, True)
    assert slow.p_value == pytest.approx(stats.norm.sf(15.820896), rel=1e-4)
    usual = duration_test("s", 10.9, 5, DUR_1)
    assert usual is not None
    correct([usual])
    assert not usual.flagged
    assert duration_test("s", 18.0, 4, DUR_1) is None
    assert duration_test("s", 18.0, 5, DUR_1[:11]) is None
