"""Skill trends: the TR vectors, the same figures as scipy's, and GET /api/v1/skills/…/trend."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from scipy import stats

from analytics.trends import Point, Trend, trend_of, window
from tests.analytics.conftest import at, events

TR1 = [0.92, 0.91, 0.93, 0.90, 0.89, 0.90, 0.88, 0.87, 0.55, 0.86, 0.85, 0.86, 0.84, 0.83]
TR2 = [0.90, 0.88, 0.91, 0.89, 0.92, 0.90, 0.87, 0.91, 0.90, 0.89]
TR3 = [10, 12, 11, 14, 15, 17, 16]
TR5_COMPLETED = [45, 50, 38, 47, 40, 44, 35, 41, 33, 36]
TR5_DECIDED = [50, 56, 44, 55, 48, 54, 45, 52, 44, 49]
AT = at("2026-11-25T10:00:00")


def trend(values: Sequence[float], indexes: list[int] | None = None) -> Trend:
    indexes = indexes if indexes is not None else list(range(len(values)))
    points = [
        Point(date(2026, 11, 1) + timedelta(i), i, 10, v)
        for i, v in zip(indexes, values, strict=True)
    ]
    return trend_of(points, Trend("completion_rate", AT, AT, len(values)))


def normal_mk_p(s: int, n: int) -> float:
    """pyMannKendall's p (no ties): normal approximation with continuity correction."""
    z = (s - math.copysign(1, s)) / math.sqrt(n * (n - 1) * (2 * n + 5) / 18)
    return 2 * stats.norm.sf(abs(z))


def test_tr1_one_outlier_day_hides_the_decline_from_ols_not_from_mann_kendall():
    t = trend(TR1)
    assert t.ols_slope == pytest.approx(-0.009077, abs=1e-6)
    assert t.ols_p == pytest.approx(0.148198, abs=1e-6)
    assert t.mk_s == -71
    assert t.mk_tau == pytest.approx(-0.788938, abs=1e-6)
    assert t.mk_p == pytest.approx(9.67549e-5, rel=1e-5)
    assert (t.sen_slope, t.sen_ci_low, t.sen_ci_high, t.sen_intercept) == pytest.approx(
        (-0.006667, -0.009000, -0.006250, 0.918333), abs=1e-6
    )
    assert t.direction == "decreasing"
    # From the Theil–Sen line, not the raw endpoints (0.92 and 0.83).
    assert (t.start_value, t.end_value) == pytest.approx((0.918333, 0.918333 - 13 * 0.006667), 1e-4)


def test_tr2_a_flat_series_has_no_trend():
    t = trend(TR2)
    assert t.mk_s == -2
    assert t.ols_slope == pytest.approx(-0.000182, abs=1e-6)
    assert t.ols_p == pytest.approx(0.919532, abs=1e-6)
    assert (t.sen_slope, t.sen_ci_low, t.sen_ci_high) == pytest.approx((0.0, -0.005, 0.005))
    # scipy with ties: asymptotic with tie correction, no continuity correction (pyMannKendall's
    # 0.927062 has one): the same "no trend" either way.
    assert t.mk_p == pytest.approx(stats.kendalltau(range(10), TR2).pvalue)
    assert t.direction == "no_trend"


def test_tr3_seven_points_without_ties_get_the_exact_p():
    t = trend(TR3)
    assert t.mk_s == 17
    assert t.mk_tau == pytest.approx(0.809524, abs=1e-6)
    assert t.mk_p == pytest.approx(0.0107143, abs=1e-7)
    assert normal_mk_p(t.mk_s, 7) == pytest.approx(0.0162609, abs=1e-7)
    assert t.ols_slope == pytest.approx(1.142857, abs=1e-6)
    assert t.ols_p == pytest.approx(0.00189814, rel=1e-5)
    assert (t.sen_slope, t.sen_ci_low, t.sen_ci_high, t.sen_intercept) == (1.25, 0.5, 2.0, 10.25)
    assert t.direction == "increasing"


@pytest.mark.parametrize("n", [2, 6])
def test_tr4_under_seven_points_is_insufficient_data(n):
    t = trend(TR3[:n])
    assert t.direction == "insufficient_data"
    assert (t.mk_p, t.mk_tau, t.sen_slope, t.ols_slope, t.start_value) == (None,) * 5
    assert t.n_points == n


def test_a_constant_series_is_no_trend_without_nan():
    t = trend([0.8] * 9)
    assert (t.mk_s, t.mk_tau, t.mk_p, t.sen_slope, t.direction) == (0, None, None, 0.0, "no_trend")


@pytest.mark.parametrize("values", [TR1, TR2, TR3, [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5]])
def test_the_figures_are_scipys_on_the_same_data_with_gaps(values):
    indexes = [i * 2 + (i % 3) for i in range(len(values))]
    t = trend(values, indexes)
    tau = stats.kendalltau(indexes, values)
    sen = stats.theilslopes(values, indexes, alpha=0.95)
    ols = stats.linregress(indexes, values)
    assert (t.mk_tau, t.mk_p) == (tau.statistic, tau.pvalue)
    assert (t.sen_slope, t.sen_intercept, t.sen_ci_low, t.sen_ci_high) == tuple(sen)
    assert (t.ols_slope, t.ols_p) == (ols.slope, ols.pvalue)
    s = sum(
        math.copysign(1, (values[j] - values[i])) if values[j] != values[i] else 0
        for i in range(len(values))
        for j in range(i + 1, len(values))
    )
    assert t.mk_s == s


def test_the_window_is_the_full_utc_days_before_at():
    assert window(AT, 14) == (at("2026-11-11T00:00:00"), at("2026-11-25T00:00:00"))
    midnight = at("2026-11-25T00:00:00")
    assert window(midnight, 1) == (at("2026-11-24T00:00:00"), midnight)
    # 01:30 in Cairo on the 25th is 23:30 UTC on the 24th: the 24th is not full yet.
    cairo = datetime(2026, 11, 25, 1, 30, tzinfo=ZoneInfo("Africa/Cairo"))
    assert window(cairo, 1) == (at("2026-11-23T00:00:00"), at("2026-11-24T00:00:00"))


# --- the endpoint --------------------------------------------------------------------------

FIRST = at("2026-11-15T00:00:00")  # the first day of a 10-day window ending before AT


def tr5_days(project, skill: str = "pytest") -> None:
    """TR-5 on the 10 days from FIRST, each day's events at 09:00–13:00, one undecided each."""
    specs: list[tuple[str, datetime, bool | None, float | None]] = []
    for d, (ok, n) in enumerate(zip(TR5_COMPLETED, TR5_DECIDED, strict=True)):
        day = FIRST + timedelta(days=d, hours=9)
        specs += [(skill, day + timedelta(minutes=i * 4), i < ok, 2.0 + d) for i in range(n)]
        specs.append((skill, day, None, None))
    events(project, *specs)


def get(client, key: str, skill: str = "pytest", query: str = ""):
    return client.get(
        f"/api/v1/skills/{skill}/trend?{query}", headers={"authorization": f"Bearer {key}"}
    )


@pytest.mark.django_db
def test_tr5_through_the_rollups_and_the_api(client, project, read_key):
    tr5_days(project)
    events(project, ("pytest", AT, False, None))  # on the day of `at`: not a full day yet
    with CaptureQueriesContext(connection) as queries:
        response = get(client, read_key, query="project=alpha&days=10&at=2026-11-25T10:00:00Z")
    assert response.status_code == 200
    assert not [q for q in queries if "skillinvocation" in q["sql"].lower()]
    body = response.json()
    assert (body["window_start"], body["window_end"]) == (
        "2026-11-15T00:00:00Z",
        "2026-11-25T00:00:00Z",
    )
    assert (body["metric"], body["window_days"], body["n_points"]) == ("completion_rate", 10, 10)
    assert body["points_excluded"] == 0
    assert [p["n"] for p in body["points"]] == TR5_DECIDED  # undecided ones are not in n
    assert body["points"][0] == {"day": "2026-11-15", "day_index": 0, "n": 50, "value": 0.9}
    rates = [c / n for c, n in zip(TR5_COMPLETED, TR5_DECIDED, strict=True)]
    assert [p["value"] for p in body["points"]] == pytest.approx(rates)
    assert body["sen_slope"] == pytest.approx(-0.018939, abs=1e-6)
    assert body["mk_s"] == -43
    assert body["mk_p"] == pytest.approx(stats.kendalltau(range(10), rates).pvalue)
    # The normal approximation of this S is pyMannKendall's p for TR-5.
    assert normal_mk_p(body["mk_s"], 10) == pytest.approx(1.72241e-4, rel=1e-5)
    assert body["direction"] == "decreasing"
    assert body["method"] == "mann_kendall_theil_sen_v1"


def day_of(project, d: int, ok: int, n: int, undecided: int = 0) -> None:
    """On day `d` of the window: n decided (ok completed) lasting d + 1 s, then undecided ones."""
    day = FIRST + timedelta(days=d, hours=9)
    events(
        project,
        *[("pytest", day + timedelta(minutes=i), i < ok, d + 1.0) for i in range(n)],
        *[("pytest", day + timedelta(minutes=n + i), None, None) for i in range(undecided)],
    )


@pytest.mark.django_db
def test_days_under_five_decided_leave_gaps_and_are_counted(client, project, read_key):
    for d in range(10):
        if d == 3:
            day_of(project, d, 4, 4, undecided=40)  # 44 invocations, only 4 decided
        elif d != 7:  # day 7: nothing at all
            day_of(project, d, 5 - d % 2, 5, undecided=1)
    query = "project=alpha&days=10&at=2026-11-25T10:00:00Z"
    rate = get(client, read_key, query=query).json()
    assert [p["day_index"] for p in rate["points"]] == [0, 1, 2, 4, 5, 6, 8, 9]
    assert rate["points_excluded"] == 2
    assert rate["points"][1] == {"day": "2026-11-16", "day_index": 1, "n": 5, "value": 0.8}
    duration = get(client, read_key, query=query + "&metric=duration").json()
    assert [p["day_index"] for p in duration["points"]] == [0, 1, 2, 4, 5, 6, 8, 9]
    # n is the day's invocations for duration (the undecided one included), the mean its value.
    assert duration["points"][2] == {"day": "2026-11-17", "day_index": 2, "n": 6, "value": 3.0}
    assert duration["sen_slope"] == 1.0
    assert duration["direction"] == "increasing"
    volume = get(client, read_key, query=query + "&metric=volume").json()
    assert volume["points_excluded"] == 0
    assert [p["n"] for p in volume["points"]] == [6, 6, 6, 44, 6, 6, 6, 0, 6, 6]
    assert volume["points"][7] == {"day": "2026-11-22", "day_index": 7, "n": 0, "value": 0.0}


@pytest.mark.django_db
def test_a_short_window_is_insufficient_data(client, project, read_key):
    tr5_days(project)
    body = get(client, read_key, query="project=alpha&days=2&at=2026-11-25T10:00:00Z").json()
    assert (body["direction"], body["n_points"], body["mk_p"]) == ("insufficient_data", 2, None)


@pytest.mark.django_db
def test_a_key_sees_only_its_project(client, project, other_project, read_key):
    tr5_days(other_project)
    assert get(client, read_key, query="project=beta").status_code == 404
    assert get(client, read_key, query="project=nope").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "project"),
        ("project=alpha&metric=rate", "metric"),
        ("project=alpha&days=0", "days"),
        ("project=alpha&days=367", "days"),
        ("project=alpha&at=2026-11-25T10:00:00", "at"),
        ("project=alpha&at=", "at"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(client, project, read_key, query, field):
    response = get(client, read_key, query=query)
    assert response.status_code == 400
    assert field in response.json()["error"]["detail"]


@pytest.mark.django_db
def test_a_skill_name_that_cannot_be_stored_is_a_400(client, project, read_key):
    response = get(client, read_key, skill="py%00test", query="project=alpha")
    assert response.status_code == 400
    assert "skill" in response.json()["error"]["detail"]


@pytest.mark.django_db
def test_a_skill_name_with_a_slash_is_addressable(client, project, read_key):
    events(project, ("mcp/github", FIRST + timedelta(hours=9), True, None))
    body = get(
        client,
        read_key,
        skill="mcp%2Fgithub",
        query="project=alpha&metric=volume&days=10&at=2026-11-25T10:00:00Z",
    ).json()
    assert (body["skill"], body["points"][0]["n"]) == ("mcp/github", 1)
