"""A skill's page: its three trends (TR-1 for the completion rate) with the Theil–Sen line on a
time axis in Chromium, its baseline, its duration percentiles per day from the histogram, its
anomalies open and past, the skills used with it, the predictor's calibration, the crackerjack
panel of a hook, visibility and bad queries."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils.html import escape
from django.utils.safestring import SafeString
from scipy import stats

from analytics import skill_panels
from analytics.detection import evaluate
from analytics.models import ModelVersion
from analytics.predictor.training import train
from tests.analytics.anomaly_data import hour_of, perfect_baseline
from tests.analytics.page_helpers import (
    WIRED_SHOTS,
    at,
    invoke,
    login,
    screenshots,
    used_together,
    wait_for,
)
from tests.analytics.predictor_data import SIGNAL, store_sessions
from tests.browser import requires_chromium
from tests.fixtures import CRACKERJACK
from tracking.models import Project

TR1 = [0.92, 0.91, 0.93, 0.90, 0.89, 0.90, 0.88, 0.87, 0.55, 0.86, 0.85, 0.86, 0.84, 0.83]
FIRST_DAY = at("2026-11-11T00:00:00")
QUERY = {"window": "14d", "at": "2026-11-25T10:00:00Z"}
URL = "/p/alpha/skills/pytest/"
HOUR = timedelta(hours=1)


@pytest.fixture
def pytest_days(project):
    """pytest on the 14 UTC days 2026-11-11 to -24: 100 decided a day at the TR-1 rates; on
    the first 10 days every invocation took 1.0 s + 0.1 s a day, on the last 4 none has a
    duration."""
    for day, rate in enumerate(TR1):
        completed = round(rate * 100)
        duration = round(1.0 + 0.1 * day, 1) if day < 10 else None
        invoke(
            project,
            "pytest",
            FIRST_DAY + timedelta(days=day, hours=8),
            [True] * completed + [False] * (100 - completed),
            [duration] * 100,
            step=timedelta(seconds=30),
        )


def section(html: str, card: str) -> str:
    found = re.search(rf'id="{card}"(.*?)</section>', html, re.S)
    assert found, card
    return " ".join(re.sub(r"<[^>]+>", " ", found[1]).split())


def test_the_completion_rate_trend_is_tr1_exactly(owner_client, pytest_days):
    response = owner_client.get(URL, QUERY)
    assert response.status_code == 200
    text = section(response.content.decode(), "trend-completion_rate-card")
    assert "completion rate decreasing" in text
    assert "14 days of 14; 0 left out (under 5 decided)" in text
    # TR-1: τ −0.788938, p 9.67549e-5, S −71; Theil–Sen −0.006667 a day, 95 % (−0.009, −0.00625),
    # intercept 0.918333; OLS −0.009077, p 0.148198 (it misses the decline).
    assert "τ -0.79 · p 9.68e-05 · S -71" in text
    assert "Theil–Sen slope -0.67 pt a day 95 % -0.90 pt to -0.63 pt" in text
    assert "Line 91.8 % to 83.2 %" in text
    assert "OLS slope -0.91 pt a day · p 0.148" in text


def test_duration_and_volume_trends_and_the_daily_percentiles(owner_client, pytest_days):
    html = owner_client.get(URL, QUERY).content.decode()
    duration = section(html, "trend-duration-card")
    # 1.0 s to 1.9 s over the first 10 days: every pair rises, so τ = 1 and the exact
    # two-sided p is 2/10! = 5.51e-07; every pairwise slope is 0.1 s.
    assert "mean duration increasing" in duration
    assert "10 days of 14; 4 left out (under 5 decided, or no duration recorded)" in duration
    assert "τ 1 · p 5.51e-07 · S 45" in duration
    assert "Theil–Sen slope 0.1 s a day 95 % 0.1 to 0.1" in duration
    volume = section(html, "trend-volume-card")
    # 100 a day: a constant series has no Kendall τ and a flat line.
    assert "volume no trend" in volume and "14 days of 14; 0 left out" in volume
    assert "τ not measured · p not measured · S 0" in volume
    assert "Line 100 to 100" in volume

    rows = re.findall(
        r"<tr><td class=\"day\">(\S+)</td><td class=\"day\">\S+</td>"
        r"<td class=\"num\">(\d+)</td><td class=\"num\">(.*?)</td>",
        section_html(html, "percentile-table"),
    )
    assert len(rows) == 14
    # 1.0 s lies in the bucket [0.9414 s, 1.0167 s) (ratio 1.08 from 1 ms): midpoint 0.979 s.
    assert rows[0] == ("2026-11-11", "100", "0.98 s")
    assert rows[13][:2] == ("2026-11-24", "0") and "not measured" in rows[13][2]

    baseline = section(html, "baseline")
    # 1,199 of 1,400 decided over the window (the TR-1 rates times 100, summed).
    assert "85.6 %" in baseline and "n = 1,400 decided" in baseline
    assert "n = 1,000 durations" in baseline


def section_html(html: str, table_id: str) -> str:
    found = re.search(rf'id="{table_id}"(.*?)</table>', html, re.S)
    assert found, table_id
    return found[1]


@pytest.fixture
def anomalies(project):
    """As in the API's tests: a ruff drop opened at 12:00 and resolved at 14:00; mypy's drop
    opened at 12:00 and still open at 14:00."""
    t = at("2026-11-20T12:00:00")
    perfect_baseline(project)
    hour_of(project, t - HOUR, 6, 10)
    perfect_baseline(project, skill="mypy")
    hour_of(project, t, 10, 10)
    hour_of(project, t + HOUR, 10, 10)
    hour_of(project, t - HOUR, 3, 10, skill="mypy")
    hour_of(project, t, 3, 10, skill="mypy")
    hour_of(project, t + HOUR, 3, 10, skill="mypy")
    for i in range(3):
        evaluate(t + i * HOUR)


def test_a_skill_shows_its_anomalies_open_and_past(owner_client, anomalies):
    ruff = owner_client.get("/p/alpha/skills/ruff/", QUERY).content.decode()
    found = section(ruff, "anomalies")
    assert "Open None open." in found
    # 6 of 10 against 200 of 200: opened at 12:00, cleared at 13:00 and 14:00.
    assert "Past Anomaly Window Observed (n) Baseline (n)" in found
    assert (
        "completion rate drop resolved fisher_exact_v1 2026-11-20 11:00:00 to 2026-11-20 12:00:00"
        in found
    )
    # AN-1: 200/200 → 6/10 gives p = 2.66705e-6 and a pooled z of −9.0307 (one test: q = p).
    assert (
        "60.0 % of 10 decided 100.0 % of 200 decided"
        " from 2026-11-13 11:00:00 to 2026-11-20 11:00:00 p 2.67e-06 q 2.67e-06 -9.03 peak -9.03 1"
    ) in found
    assert "2026-11-20 12:00:00" in found and "2026-11-20 14:00:00" in found
    assert "fisher_exact_v1" in found
    mypy = section(owner_client.get("/p/alpha/skills/mypy/", QUERY).content.decode(), "anomalies")
    assert "Open Anomaly" in mypy and "completion rate drop open" in mypy
    assert "still open" in mypy
    assert "Past None resolved." in mypy
    assert "30.0 % of 10 decided" in mypy


def test_a_skill_name_with_a_slash_has_its_page(owner_client, project):
    invoke(project, "mcp/read file", at("2026-11-24T08:00:00"), [True])
    response = owner_client.get("/p/alpha/skills/mcp/read%20file/", QUERY)
    assert response.status_code == 200
    assert "<code>mcp/read file</code>" in response.content.decode()
    assert owner_client.get("/p/alpha/skills/mcp/", QUERY).status_code == 404


def test_unknown_skills_and_other_projects_are_404(client, owner_client, outsider, project):
    invoke(project, "pytest", at("2026-11-24T08:00:00"), [True])
    Project.objects.create(name="Gamma", slug="gamma")
    assert owner_client.get("/p/alpha/skills/never-used/").status_code == 404
    assert owner_client.get("/p/alpha/skills/a%00b/").status_code == 404
    assert owner_client.get("/p/gamma/skills/pytest/").status_code == 404
    client.force_login(outsider)
    assert client.get(URL).status_code == 404


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"window": "36h"}, "window: Use whole days on this page (e.g. 14d): trends are daily."),
        ({"window": "0d"}, "window: Use &lt;n&gt;h or &lt;n&gt;d"),
        ({"at": "yesterday"}, "at:"),
        ({"at": ""}, "at: Must not be empty"),
    ],
)
def test_a_bad_query_is_a_400_page_naming_the_parameter(owner_client, project, query, message):
    invoke(project, "pytest", at("2026-11-24T08:00:00"), [True])
    response = owner_client.get(URL, query)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_too_few_days_is_insufficient_data_not_a_line(owner_client, project):
    invoke(project, "pytest", at("2026-11-24T08:00:00"), [True] * 6, [2.0] * 6)
    html = owner_client.get(URL, QUERY).content.decode()
    text = section(html, "trend-completion_rate-card")
    assert "insufficient data" in text and "7 points needed, 1 kept" in text
    assert '"sen_line": null' in html


@requires_chromium
@pytest.mark.django_db(transaction=True)
def test_in_chromium_each_trend_draws_its_days_and_the_theil_sen_line_on_a_time_axis(
    live_server, browser, pytest_days, anomalies
):
    login(browser, live_server, "alice", "password-alice", f"{URL}?window=14d&at={QUERY['at']}")
    wait_for(browser, "#trend-completion_rate")
    drawn = browser.execute_script(
        """
        const out = {};
        for (const metric of ["completion_rate", "duration", "volume"]) {
          const chart = Chart.getChart(document.getElementById("trend-" + metric));
          out[metric] = {
            x: chart.scales.x.type, ticks: chart.scales.x.ticks.map((t) => t.label),
            sets: chart.data.datasets.map((d) => ({
              label: d.label, points: d.data.map((p) => [p.x, p.y]),
            })),
          };
        }
        const p = Chart.getChart(document.getElementById("duration-percentiles"));
        out.percentiles = p.data.datasets.map((d) => d.label);
        return out;
        """
    )
    rate = drawn["completion_rate"]
    assert rate["x"] == "linear"  # epoch milliseconds, as the score charts
    assert any(t.startswith("2026-11-1") for t in rate["ticks"])
    daily, line = rate["sets"]
    assert daily["label"] == "daily value" and line["label"] == "Theil–Sen line"
    noon = (FIRST_DAY + timedelta(hours=12)).timestamp() * 1000
    assert [p[0] for p in daily["points"]] == [noon + i * 86_400_000 for i in range(14)]
    assert [p[1] for p in daily["points"]] == pytest.approx([r * 100 for r in TR1])
    # Theil–Sen from day 0 to day 13: 0.918333 − 0.006667·i, in percent.
    assert [p[0] for p in line["points"]] == [noon, noon + 13 * 86_400_000]
    assert [p[1] for p in line["points"]] == pytest.approx([91.8333, 83.1667], abs=1e-3)
    duration_line = drawn["duration"]["sets"][1]["points"]
    assert [p[0] for p in duration_line] == [noon, noon + 9 * 86_400_000]
    assert [p[1] for p in duration_line] == pytest.approx([1.0, 1.9], abs=1e-9)
    assert drawn["percentiles"] == ["p50", "p90", "p95"]
    screenshots(browser, "skill")
    browser.get(f"{live_server.url}/p/alpha/skills/ruff/?window=14d&at={QUERY['at']}")
    wait_for(browser, "#anomalies table")
    screenshots(browser, "skill-anomalies")


def test_a_long_window_shows_the_percentiles_per_block_of_7_days(owner_client, pytest_days):
    html = owner_client.get(URL, {**QUERY, "window": "90d"}).content.decode()
    assert "per 7 days" in html
    rows = re.findall(
        r"<tr><td class=\"day\">(\S+)</td><td class=\"day\">(\S+)</td><td class=\"num\">([\d,]+)",
        section_html(html, "percentile-table"),
    )
    # 90 days from 2026-08-27: 12 blocks of 7 days and a last one of 6.
    assert len(rows) == 13
    assert rows[0] == ("2026-08-27", "2026-09-02", "0")
    assert rows[10] == ("2026-11-05", "2026-11-11", "100")  # the 11th alone
    assert rows[11] == ("2026-11-12", "2026-11-18", "700")
    assert rows[12] == ("2026-11-19", "2026-11-24", "200")


def test_the_skills_used_with_it_link_to_their_pages(owner_client, project):
    used_together(project)
    html = owner_client.get("/p/alpha/skills/ruff/").content.decode()
    text = section(html, "related")
    assert "60 sessions started from" in text and "(90 days; stored" in text
    # pytest: 20 together of 30 and 30; lift 20·60/(30·30) = 1.33, confidence 20/30 both ways,
    # Jaccard 20/(30 + 30 − 20) = 0.50, q = p (the only pair), band weak (1 < 1.33 ≤ 1.5).
    q = stats.fisher_exact([[20, 10], [10, 20]], alternative="greater")[1]
    assert f"pytest 20 1.33 0.67 0.67 0.50 {q:.2g} weak" in text
    assert '<a href="/p/alpha/skills/pytest/">pytest</a>' in html
    assert "Bash" not in text  # never with ruff
    lonely = section(owner_client.get("/p/alpha/skills/Bash/").content.decode(), "related")
    assert "No skill is used with Bash in enough sessions to tell." in lonely


def test_without_an_active_model_the_page_says_why(owner_client, pytest_days):
    text = section(owner_client.get(URL, QUERY).content.decode(), "predictor")
    assert "No active model: not trained yet." in text


def test_an_active_models_calibration_is_on_the_page(owner_client, project):
    version = train(project, store_sessions(project, SIGNAL, sessions=300, seed=4))
    assert version.is_active, version.reason
    stored = ModelVersion.objects.get(pk=version.pk)
    html = owner_client.get("/p/alpha/skills/pytest/").content.decode()
    text = section(html, "predictor")
    assert f"Active model {stored.pk}, trained on 1,800 calls and calibrated on 600" in text
    assert f"ROC AUC {stored.auc:.3f}" in text
    table = re.search(r'<table class="data compact reliability">(.*?)</table>', html, re.S)
    assert table
    rows = re.findall(r"<tr><td>", table[1])
    assert len(rows) == len(stored.calibration_bins) > 1
    assert html.count("<circle ") == len(stored.calibration_bins)


def test_a_model_that_did_not_activate_is_named_with_its_reason(owner_client, project):
    noise = {skill: 0.7 for skill in SIGNAL}
    version = train(project, store_sessions(project, noise, sessions=300, seed=2))
    assert not version.is_active and version.reason
    text = section(owner_client.get("/p/alpha/skills/pytest/").content.decode(), "predictor")
    assert f"No active model: {escape(version.reason)}." in text


def test_a_crackerjack_hook_shows_its_phases_and_their_recommendations(owner_client, project):
    call_command(
        "import_crackerjack", str(CRACKERJACK / "project"), "--project", "alpha", stdout=StringIO()
    )
    html = owner_client.get(
        "/p/alpha/skills/ruff-check/", {"window": "14d", "at": "2026-11-27T00:00:00Z"}
    ).content.decode()
    text = section(html, "crackerjack")
    # The fixture's two runs: fast_hooks failed in 4.8 s, passed in 3.9 s: 1 of 2, Wilson
    # 9.5–90.5 %, median 4.35 s, p90 3.9 + 0.9·0.9 = 4.71 s (two digits on the page);
    # ruff-check failed once with 3 issues and passed once (smoothed (1 + 1)/(2 + 2)).
    assert "2 runs started from" in text
    assert "fast_hooks setup 2 50.0 % of 2 9.5–90.5 % 4.3 s 4.7 s 2" in text
    assert "ruff-check 2 50.0 % of 2 9.5–90.5 % 50.0 % 3" in text
    assert "high fast_hooks passed in 50% of 2 runs." in text
    assert "Recommended skills for fast_hooks: ruff-format, codespell, ruff-check" in text
    # ruff-check ran only in fast_hooks: the other phases are not on its page.
    assert "comprehensive_hooks" not in text.split("Recommendations")[1].split("From the")[0]
    # A week later the runs are out of the 30 days before the page's time: no panel.
    later = owner_client.get(
        "/p/alpha/skills/ruff-check/", {"window": "14d", "at": "2027-01-10T00:00:00Z"}
    ).content.decode()
    assert 'id="crackerjack"' not in later


def test_a_skill_crackerjack_never_ran_has_no_crackerjack_panel(owner_client, pytest_days):
    call_command(
        "import_crackerjack", str(CRACKERJACK / "project"), "--project", "alpha", stdout=StringIO()
    )
    html = owner_client.get(URL, {**QUERY, "at": "2026-11-27T00:00:00Z"}).content.decode()
    assert 'id="crackerjack"' not in html


@requires_chromium
@pytest.mark.django_db(transaction=True)
def test_in_chromium_the_wired_sections_render_and_link(live_server, browser, project):
    from selenium.webdriver.common.by import By

    used_together(project)
    train(project, store_sessions(project, SIGNAL, sessions=300, seed=4))
    call_command(
        "import_crackerjack", str(CRACKERJACK / "project"), "--project", "alpha", stdout=StringIO()
    )
    login(browser, live_server, "alice", "password-alice", "/p/alpha/skills/ruff/")
    wait_for(browser, "#related table")
    assert browser.find_element(By.CSS_SELECTOR, "#predictor svg.calibration-chart").is_displayed()
    screenshots(browser, "skill-ruff", WIRED_SHOTS)
    browser.get(f"{live_server.url}/p/alpha/skills/ruff-check/?window=14d&at=2026-11-27T00:00:00Z")
    wait_for(browser, "#crackerjack table")
    screenshots(browser, "skill-crackerjack", WIRED_SHOTS)
    browser.get(f"{live_server.url}/p/alpha/skills/")
    wait_for(browser, "#dependencies table").find_element(By.LINK_TEXT, "ruff").click()
    assert wait_for(browser, "h1").text == "Skill ruff in Alpha"
    browser.back()
    wait_for(browser, "#dependencies table")
    screenshots(browser, "skills", WIRED_SHOTS)


def test_registered_panels_render_with_the_pages_time_and_empty_ones_are_left_out(
    owner_client, project, pytest_days, monkeypatch
):
    seen = []

    def panel(project, skill, when):
        seen.append((project.slug, skill, when.isoformat()))
        return SafeString(f'<section id="extra">{skill} as of {when:%Y-%m-%d %H:%M}</section>')

    monkeypatch.setitem(skill_panels._skill_panels, "extra", panel)
    monkeypatch.setitem(skill_panels._skill_panels, "silent", lambda *_: SafeString(""))
    html = owner_client.get(URL, QUERY).content.decode()
    assert seen == [("alpha", "pytest", "2026-11-25T10:00:00+00:00")]
    assert '<section id="extra">pytest as of 2026-11-25 10:00</section>' in html
    assert html.count("<section") == html.count("</section>")
    assert skill_panels.skill_panels(project, "pytest", at("2026-11-25T10:00:00")) == [
        '<section id="extra">pytest as of 2026-11-25 10:00</section>'
    ]
