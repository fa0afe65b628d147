"""A project's session-patterns page: the weekday × hour heat map in the display zone (ISO
weekdays), the length histogram and median, the streaks and the correlations with their n, r,
p and method; visibility and bad queries; the heat map's shades in Chromium."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from scipy import stats

from tests.analytics.page_helpers import at, invoke, login, screenshots, wait_for
from tests.browser import requires_chromium
from tracking.models import Checkpoint, Project
from tracking.sessions import SessionStart, session_end, session_start

QUERY = {"window": "30d", "at": "2026-11-30T00:00:00Z"}
URL = "/p/alpha/session-patterns/"
# (name, start in UTC, minutes or None while active, score change, tool calls). In
# Europe/Paris (UTC+1 in November) they start on Mon 08:xx twice, Wed 00:30 (Tuesday in
# UTC), Thu 13:00, Sat 10:00 and Sun 23:10.
SESSIONS = [
    ("a", "2026-11-23T07:30:00", 10, 1.0, 1),
    ("b", "2026-11-23T07:45:00", 20, 2.0, 2),
    ("c", "2026-11-24T23:30:00", 45, 3.0, 3),
    ("d", "2026-11-26T12:00:00", 90, 5.0, 4),
    ("e", "2026-11-29T22:10:00", 200, 4.0, 5),
    ("f", "2026-11-28T09:00:00", None, None, 0),
]


@pytest.fixture
def paris(settings):
    settings.CAIRN_DISPLAY_TZ = "Europe/Paris"


@pytest.fixture
def sessions(project):
    """The sessions above, started and ended through tracking.sessions, their tool calls
    through ingest, and start/end checkpoints carrying the score change (stored as rows: a
    recorded checkpoint would need a measured repository for each score)."""
    for name, start, minutes, change, calls in SESSIONS:
        started = at(start)
        session, _ = session_start(project=project, start=SessionStart(name, started_at=started))
        if calls:
            invoke(project, "pytest", started + timedelta(minutes=1), [True] * calls, session=name)
        if minutes is None or change is None:
            continue
        ended = started + timedelta(minutes=minutes)
        session_end(session=session, ended_at=ended)
        for kind, total, when in (("start", 60.0, started), ("end", 60.0 + change, ended)):
            Checkpoint.objects.create(
                project=project, session=session, kind=kind, score_total=total, created_at=when
            )


def text_of(html: str, card: str) -> str:
    found = re.search(rf'id="{card}"(.*?)</section>', html, re.S)
    assert found, card
    return " ".join(re.sub(r"<[^>]+>", " ", found[1]).split())


def cell(html: str, weekday: int, hour: int) -> str:
    row = re.search(rf'<tr data-weekday="{weekday}">(.*?)</tr>', html, re.S)
    assert row
    found = re.search(rf'<td data-hour="{hour}" data-count="(\d+)"', row[1])
    assert found
    return found[1]


def test_the_heat_map_counts_starts_by_iso_weekday_and_hour_in_the_display_zone(
    owner_client, sessions, paris
):
    response = owner_client.get(URL, QUERY)
    assert response.status_code == 200
    html = response.content.decode()
    assert cell(html, 1, 8) == "2"  # Monday 08:30 and 08:45 in Paris
    assert cell(html, 3, 0) == "1"  # Tuesday 23:30 UTC is Wednesday 00:30 in Paris
    assert cell(html, 2, 23) == "0"
    assert cell(html, 4, 13) == "1" and cell(html, 6, 10) == "1" and cell(html, 7, 23) == "1"
    assert sum(int(n) for n in re.findall(r'data-count="(\d+)"', html)) == 6
    heat = text_of(html, "heat-map")
    assert "ISO weekday × hour, Europe/Paris, n = 6" in heat
    # Row totals: Monday 2, Tuesday 0.
    assert re.search(r"Monday( \d+){24} 2 ", heat) and re.search(r"Tuesday( \d+){24} 0 ", heat)
    assert 'style="--shade: 1.000" class="dark"' in html  # the busiest cell
    assert 'style="--shade: 0.500" class=""' in html


def test_lengths_median_streaks_and_correlations(owner_client, sessions, paris):
    html = owner_client.get(URL, QUERY).content.decode()
    lengths = text_of(html, "lengths")
    assert "n = 5 ended" in lengths
    assert "short under 15 min 1 20.0 %" in lengths
    assert "medium 15 to 60 min 2 40.0 %" in lengths
    assert "long 60 min or more 2 40.0 %" in lengths
    assert "Median length: 45 min (n = 5)" in lengths  # of 10, 20, 45, 90, 200
    streaks = text_of(html, "streaks")
    # Paris days 23, 25, 26, 28, 29: runs of 2 (the earliest is the longest shown); the
    # window's last day is the 30th, so the run ending on the 29th is current.
    assert "Days with a session 5" in streaks
    assert "Longest run 2 days (2026-11-25 to 2026-11-26)" in streaks
    assert "Current run 2 days" in streaks
    table = text_of(html, "correlations")
    # Lengths rank 1–5, changes rank 1, 2, 3, 5, 4: Σd² = 2, ρ = 1 − 6·2/(5·24) = 0.9.
    rho = stats.spearmanr([10, 20, 45, 90, 200], [1, 2, 3, 5, 4])
    assert rho.statistic == pytest.approx(0.9)
    assert f"session length (minutes) 5 0.9 {rho.pvalue:.3g} spearman" in table
    # Calls 1–5 against 1, 2, 3, 5, 4: Σdxdy = 9, Σdx² = Σdy² = 10, r = 0.9.
    r = stats.pearsonr([1, 2, 3, 4, 5], [1, 2, 3, 5, 4])
    assert f"tool calls 5 0.9 {r.pvalue:.3g} pearson" in table
    assert "cost (USD) 0 not measured: under 5 pairs" in table


def test_the_window_line_names_the_zone_and_the_counts(owner_client, sessions, paris):
    html = owner_client.get(URL, QUERY).content.decode()
    assert "6 sessions started in the window, 5 of them ended" in html
    assert "Sessions started from" in html and "2026-10-31 01:00:00" in html  # Paris time
    assert "Days and hours in Europe/Paris." in html


def test_a_window_without_sessions_says_so(owner_client, project):
    html = owner_client.get(URL, QUERY).content.decode()
    assert "No session started in the window." in html
    assert "No session in the window has ended" in html
    assert "not measured: under 5 pairs" in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"window": "week"}, "window: Use &lt;n&gt;h or &lt;n&gt;d"),
        ({"at": "2026-13-01T00:00Z"}, "at:"),
    ],
)
def test_a_bad_query_is_a_400_page_naming_the_parameter(owner_client, project, query, message):
    response = owner_client.get(URL, query)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_only_members_see_the_page(client, outsider, owner_client, project):
    Project.objects.create(name="Gamma", slug="gamma")
    assert owner_client.get("/p/gamma/session-patterns/").status_code == 404
    client.force_login(outsider)
    assert client.get(URL).status_code == 404


@requires_chromium
@pytest.mark.django_db(transaction=True)
def test_in_chromium_the_heat_map_shades_each_cell_by_its_count(
    live_server, browser, sessions, paris
):
    login(browser, live_server, "alice", "password-alice", f"{URL}?window=30d&at={QUERY['at']}")
    wait_for(browser, "table.heat")
    shades = browser.execute_script(
        """
        const colour = (d, h) => getComputedStyle(document.querySelector(
          `tr[data-weekday="${d}"] td[data-hour="${h}"]`)).backgroundColor;
        const width = (b) => document.querySelector(`tr[data-bucket="${b}"] .bar-fill`)
          .getBoundingClientRect().width;
        return {busiest: colour(1, 8), half: colour(3, 0), none: colour(2, 23),
                short: width("short"), medium: width("medium"), long: width("long")};
        """
    )
    assert shades["busiest"] == "rgb(26, 127, 100)"
    assert shades["half"] == "rgba(26, 127, 100, 0.5)"
    assert shades["none"] == "rgb(240, 242, 244)"
    # 1, 2 and 2 sessions: the short bar is half as long as the others.
    assert shades["medium"] == shades["long"] > 0
    assert shades["short"] == pytest.approx(shades["medium"] / 2, abs=1)
    screenshots(browser, "session-patterns")
