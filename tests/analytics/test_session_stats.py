"""Session analytics: the SE vectors, the same figures as scipy's, and the endpoint."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from scipy import stats

from analytics.session_stats import (
    by_hour,
    by_weekday,
    correlation,
    length_buckets,
    median,
    session_facts,
    streaks,
)
from tests.analytics.conftest import at, events
from tracking.models import Checkpoint, Session

BL1 = [3.2, 4.1, 5.0, 5.5, 7.9, 8.4, 12.0, 15.5, 30.2, 95.0]
SE2_DURATION = [30, 45, None, 90, 120, 60, 150, None]
SE2_QUALITY = [70, None, 80, 85, 88, 75, 90, 60]


def test_se2_correlation_on_pairwise_complete_cases():
    result = correlation("d", SE2_DURATION, "q", SE2_QUALITY, "pearson")
    assert result["n"] == 5
    assert result["r"] == pytest.approx(0.965714, abs=1e-6)
    assert result["p"] == pytest.approx(0.007582, abs=1e-6)
    pairs = [(d, q) for d, q in zip(SE2_DURATION, SE2_QUALITY, strict=True) if d and q]
    assert (result["r"], result["p"]) == tuple(stats.pearsonr(*zip(*pairs, strict=True)))
    spearman = correlation("d", SE2_DURATION, "q", SE2_QUALITY, "spearman")
    assert (spearman["r"], spearman["p"]) == tuple(stats.spearmanr(*zip(*pairs, strict=True)))
    assert spearman["method"] == "spearman"


def test_under_five_pairs_or_a_constant_side_reports_n_without_r():
    four = correlation("d", SE2_DURATION[:6], "q", SE2_QUALITY[:6], "spearman")
    assert (four["n"], four["r"], four["p"]) == (4, None, None)
    flat = correlation("d", [1, 2, 3, 4, 5], "q", [7, 7, 7, 7, 7], "pearson")
    assert (flat["n"], flat["r"]) == (5, None)


def test_se1_weekday_is_iso_and_hours_are_all_there():
    wednesday = datetime(2026, 11, 25, 9, 30)
    assert by_weekday([wednesday]) == {"1": 0, "2": 0, "3": 1, "4": 0, "5": 0, "6": 0, "7": 0}
    hours = by_hour([wednesday, wednesday.replace(hour=0)])
    assert list(hours) == [str(h) for h in range(24)]
    assert (hours["0"], hours["9"], sum(hours.values())) == (1, 1, 2)


def test_bl1_median_and_the_bucket_edges():
    assert median(BL1) == pytest.approx(8.15)
    assert median([]) is None
    buckets = length_buckets([14.99, 15, 59.99, 60, 200])
    assert buckets == {
        "short": {"count": 1, "share": 0.2},
        "medium": {"count": 2, "share": 0.4},
        "long": {"count": 2, "share": 0.4},
    }
    assert length_buckets([])["short"] == {"count": 0, "share": None}


def test_streaks_of_calendar_days():
    days = {date(2026, 11, d) for d in (1, 2, 3, 5, 6, 7, 8, 20, 21)}
    assert streaks(days, date(2026, 11, 22)) == {
        "active_days": 9,
        "longest_days": 4,
        "longest_start": date(2026, 11, 5),
        "longest_end": date(2026, 11, 8),
        "current_days": 2,  # a last day without a session yet does not break it
    }
    assert streaks(days, date(2026, 11, 23))["current_days"] == 0
    assert streaks(set(), date(2026, 11, 23))["longest_start"] is None


# --- the endpoint --------------------------------------------------------------------------

START = at("2026-11-02T08:00:00")  # a Monday


def session(project, name, started, minutes, score=None, cost=None, calls=0):
    """A session `minutes` long (None: still active) with start/end checkpoints scoring
    `score` = (start, end) and `calls` events."""
    ended = None if minutes is None else started + timedelta(minutes=minutes)
    s = Session.objects.create(
        project=project,
        external_id=name,
        started_at=started,
        ended_at=ended,
        status="active" if ended is None else "ended",
        cost_usd=cost,
    )
    if score is not None and ended is not None:
        for kind, total, when in (("start", score[0], started), ("end", score[1], ended)):
            Checkpoint.objects.create(
                project=project, session=s, kind=kind, score_total=total, created_at=when
            )
    if calls:
        events(
            project,
            *[("pytest", started + timedelta(seconds=i), True, 1.0) for i in range(calls)],
            session=name,
        )
    return s


@pytest.fixture
def week(project, other_project):
    """Seven sessions on Mon 2 – Sun 8 Nov (one a day at 08:00 UTC) and one active on the 10th;
    the other project has a session on every day too."""
    lengths = [10, 20, 45, 90, 30, 14, 200]
    changes = [1.0, 2.0, 3.0, 5.0, 2.5, None, 8.0]
    costs = [Decimal("0.5"), None, Decimal("1.5"), Decimal("4"), Decimal("1"), None, Decimal("9")]
    for d, (length, change, cost) in enumerate(zip(lengths, changes, costs, strict=True)):
        score = None if change is None else (60.0, 60.0 + change)
        session(project, f"s{d}", START + timedelta(days=d), length, score, cost, calls=d + 1)
    session(project, "active", START + timedelta(days=8), None, calls=2)
    for d in range(10):
        session(other_project, f"b{d}", START + timedelta(days=d), 5)
    return lengths, changes, costs


def get(client, key, slug="alpha", query=""):
    return client.get(
        f"/api/v1/projects/{slug}/session-stats?{query}",
        headers={"authorization": f"Bearer {key}"},
    )


WINDOW = "since=2026-11-01T00:00:00Z&until=2026-11-11T00:00:00Z"


@pytest.mark.django_db
def test_the_projects_sessions_in_the_window(client, week, read_key):
    lengths, changes, costs = week
    response = get(client, read_key, query=WINDOW)
    assert response.status_code == 200
    body = response.json()
    assert (body["project"], body["time_zone"]) == ("alpha", "UTC")
    assert (body["window_start"], body["window_end"]) == (
        "2026-11-01T00:00:00Z",
        "2026-11-11T00:00:00Z",
    )
    assert (body["sessions"], body["sessions_ended"]) == (8, 7)
    assert body["length_buckets"]["short"] == {"count": 2, "share": 2 / 7}
    assert body["length_buckets"]["long"]["count"] == 2
    assert body["median_minutes"] == 30
    assert body["by_weekday"] == {"1": 1, "2": 2, "3": 1, "4": 1, "5": 1, "6": 1, "7": 1}
    assert body["by_hour"]["8"] == 8
    assert body["streaks"] == {
        "active_days": 8,
        "longest_days": 7,
        "longest_start": "2026-11-02",
        "longest_end": "2026-11-08",
        "current_days": 1,
    }
    by_x = {c["x"]: c for c in body["correlations"]}
    assert all(c["y"] == "score_change" for c in body["correlations"])
    pairs = [(m, c) for m, c in zip(lengths, changes, strict=True) if c is not None]
    length = by_x["length_minutes"]
    assert (length["n"], length["method"]) == (6, "spearman")
    assert (length["r"], length["p"]) == tuple(stats.spearmanr(*zip(*pairs, strict=True)))
    calls = by_x["tool_calls"]
    call_pairs = [(d + 1, c) for d, c in enumerate(changes) if c is not None]
    assert (calls["n"], calls["method"]) == (6, "pearson")
    assert calls["r"] == pytest.approx(stats.pearsonr(*zip(*call_pairs, strict=True)).statistic)
    # Cost not measured (null) drops the session from that pair only.
    cost = by_x["cost_usd"]
    cost_pairs = [(float(k), c) for k, c in zip(costs, changes, strict=True) if k is not None and c]
    assert cost["n"] == len(cost_pairs) == 5
    assert cost["r"] == pytest.approx(stats.pearsonr(*zip(*cost_pairs, strict=True)).statistic)


@pytest.mark.django_db
def test_days_and_hours_are_in_the_display_zone(client, project, read_key, settings):
    settings.CAIRN_DISPLAY_TZ = "Asia/Tokyo"
    # Tuesday 23:30 UTC is Wednesday 08:30 in Tokyo.
    session(project, "late", at("2026-11-24T23:30:00"), 5)
    body = get(client, read_key, query="since=2026-11-24T00:00:00Z&until=2026-11-26T00:00:00Z")
    body = body.json()
    assert body["time_zone"] == "Asia/Tokyo"
    assert body["by_weekday"]["3"] == 1
    assert body["by_hour"]["8"] == 1
    assert body["streaks"]["longest_start"] == "2026-11-25"
    assert body["streaks"]["current_days"] == 1  # the window's last day is the 26th in Tokyo


@pytest.mark.django_db
def test_the_default_window_is_the_last_30_days(client, project, read_key):
    body = get(client, read_key).json()
    start = datetime.fromisoformat(body["window_start"])
    end = datetime.fromisoformat(body["window_end"])
    assert end - start == timedelta(days=30)
    assert (body["sessions"], body["median_minutes"]) == (0, None)
    assert all(c["n"] == 0 and c["r"] is None for c in body["correlations"])


@pytest.mark.django_db
def test_a_key_sees_only_its_project(client, week, read_key):
    assert get(client, read_key, slug="beta", query=WINDOW).status_code == 404
    assert get(client, read_key, slug="nope").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=2026-11-01T00:00:00", "since"),
        ("since=", "since"),
        ("until=tomorrow", "until"),
        ("since=2026-11-02T00:00:00Z&until=2026-11-01T00:00:00Z", "until"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(client, project, read_key, query, field):
    response = get(client, read_key, query=query)
    assert response.status_code == 400
    assert field in response.json()["error"]["detail"]


@pytest.mark.django_db
def test_score_change_uses_the_start_and_end_checkpoints_the_session_page_compares(project):
    s = session(project, "s", START, 30)
    for minutes, kind, score in [(0, "manual", 10.0), (1, "start", 50.0), (5, "manual", 99.0),
                                 (20, "end", 57.5), (25, "auto", 1.0)]:  # fmt: skip
        Checkpoint.objects.create(
            project=project, session=s, kind=kind, score_total=score,
            created_at=START + timedelta(minutes=minutes),
        )  # fmt: skip
    (facts,) = session_facts(project, START, START + timedelta(days=1))
    assert (facts.score_change, facts.minutes, facts.tool_calls) == (7.5, 30.0, 0)
