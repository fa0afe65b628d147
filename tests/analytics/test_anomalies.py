"""analytics.anomalies: the tests it applies, on window statistics alone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from analytics.anomalies import detect, two_proportion_z
from analytics.skills import SkillStats

T0 = datetime(2026, 11, 20, tzinfo=UTC)


def stats(completed: int, failed: int) -> SkillStats:
    return SkillStats(
        "s", T0, T0, completed + failed, completed, failed, 0, None, None, None, 0, None, None, 0
    )


def test_it_computes_the_pooled_two_proportion_z():
    assert two_proportion_z(4, 10, 40, 40) == pytest.approx(-5.2223, abs=1e-4)
    assert two_proportion_z(5, 5, 40, 40) is None


def test_it_flags_a_rise_and_respects_the_threshold_and_minimum_n():
    # current 10/10, baseline 10/40 (day = current + baseline)
    [rise] = detect(stats(10, 0), stats(20, 30))
    assert rise["kind"] == "completion_rate_rise" and rise["n_baseline"] == 40
    assert detect(stats(10, 0), stats(20, 30), threshold=10.0) == []
    assert detect(stats(9, 0), stats(19, 30)) == []  # 9 < 10 outcomes in the current hour
    assert detect(stats(10, 0), stats(29, 0)) == []  # 19 < 30 in the baseline
