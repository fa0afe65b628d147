"""The Skills page of a project: each skill's baseline with its n and window beside the same
skill over every project the reader may see, visibility, bad queries, and in Chromium the
sorting and the search box."""

from __future__ import annotations

import re

import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from tests.analytics.page_helpers import (
    TOGETHER,
    at,
    invoke,
    login,
    screenshots,
    used_together,
    wait_for,
)
from tests.browser import requires_chromium
from tracking.models import Project, Session

AT = "2026-11-25T12:00:00Z"
URL = "/p/alpha/skills/"


@pytest.fixture
def skills(project, other_project, owner):
    """alpha: pytest 8 of 10 (30 s each, phase test, user ann), ruff 3 of 3 decided and one
    undecided (user bob), mypy never decided; pylint only 15 days before `at`.
    beta (alice is a member too): pytest 10 of 10."""
    day = at("2026-11-24T10:00:00")
    invoke(project, "pytest", day, [True] * 8 + [False] * 2, [30.0] * 10, phase="test")
    invoke(project, "ruff", day, [True, True, True, None], session="s-2")
    invoke(project, "mypy", day, [None, None], session="s-2")
    invoke(project, "pylint", at("2026-11-10T10:00:00"), [True])
    Session.objects.filter(project=project, external_id="s-1").update(user_name="ann")
    Session.objects.filter(project=project, external_id="s-2").update(user_name="bob")
    other_project.members.add(owner)
    invoke(other_project, "pytest", day, [True] * 10, [2.0] * 10)


def cells(html: str, skill: str) -> list[str]:
    """The text of each cell of a skill's row, tags stripped, spaces collapsed."""
    row = re.search(rf'<tr data-skill="{skill}">(.*?)</tr>', html, re.S)
    assert row, f"no row for {skill}"
    found = re.findall(r"<td[^>]*>(.*?)</td>", row[1], re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in found]


def test_each_skill_shows_its_baseline_with_n_and_the_window(owner_client, skills):
    response = owner_client.get(URL, {"window": "7d", "at": AT})
    assert response.status_code == 200
    html = response.content.decode()
    # Wilson 95 % by hand: 8/10 centre 0.71681 ± 0.22658; 18/20 centre 0.83556 ± 0.13659.
    assert proportion_confint(8, 10, method="wilson") == pytest.approx((0.49016, 0.94329), abs=1e-4)
    assert proportion_confint(18, 20, method="wilson") == pytest.approx(
        (0.69897, 0.97215), abs=1e-4
    )
    assert cells(html, "pytest") == [
        "pytest", "1", "1", "10", "10", "80.0 % 49.0–94.3 % n = 10", "75.0 % n = 10", "10",
        # 30 s lies in the histogram bucket [27.88 s, 30.11 s): its midpoint stands for it.
        "29.0 s", "29.0 s", "29.0 s", "test", "100",
        "90.0 % 69.9–97.2 % n = 20, 2 projects", "15.5 s n = 20", "100",
    ]  # fmt: skip
    assert cells(html, "ruff") == [
        "ruff", "1", "1", "4", "3", "100.0 % 43.9–100.0 % n = 3", "80.0 % n = 3", "0",
        "not measured", "not measured", "not measured", "no phase named", "not ranked",
        "100.0 % 43.9–100.0 % n = 3, 1 project", "not measured n = 0", "not ranked",
    ]  # fmt: skip
    assert cells(html, "mypy")[3:7] == ["2", "0", "not measured n = 0", "not measured n = 0"]
    # 15 days back: outside 7 days, inside 30.
    assert 'data-skill="pylint"' not in html
    assert "from <time" in html and "(7d, as of" in html
    assert "2026-11-18 13:00:00" in html  # the first whole hour of the 168 ending at 12:00
    wider = owner_client.get(URL, {"window": "30d", "at": AT}).content.decode()
    assert cells(wider, "pylint")[3:6] == ["1", "1", "100.0 % 20.7–100.0 % n = 1"]


def test_the_window_links_keep_the_time_and_the_skill_links_carry_the_window(owner_client, skills):
    html = owner_client.get(URL, {"window": "7d", "at": AT}).content.decode()
    assert 'href="?window=90d&amp;at=2026-11-25T12%3A00%3A00Z"' in html
    assert 'aria-current="true">7d</a>' in html
    assert (
        'href="/p/alpha/skills/pytest/?window=7d&amp;at=2026-11-25T12%3A00%3A00%2B00%3A00"' in html
    )


def test_a_window_without_invocations_says_so(owner_client, project):
    html = owner_client.get(URL, {"window": "7d", "at": AT}).content.decode()
    assert "No skill was invoked in this window." in html


def pair_rows(html: str) -> list[str]:
    table = re.search(r'<table class="data compact dependency-matrix">(.*?)</table>', html, re.S)
    assert table, "no dependency matrix"
    rows = re.findall(r"<tr>(.*?)</tr>", table[1].split("<tbody>")[1], re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]


def test_the_strongest_pairs_of_the_stored_pass_with_their_measures(owner_client, project):
    # TOGETHER, with 10 of the 20 Bash sessions also using Edit: 60 sessions.
    plan = [*TOGETHER[:40], *[("Bash", "Edit")] * 10, *TOGETHER[50:]]
    used_together(project, plan)
    html = owner_client.get(URL).content.decode()
    assert "60 sessions started from" in html
    assert "2 pairs with at least 5 sessions together" in html
    # Bash–Edit: 10 of 20 and 10; support 10/60, confidence 10/20 and 10/10, lift
    # 10·60/(20·10) = 3.00, strong. pytest–ruff: 20 of 30 and 30, support 1/3, lift 1.33, weak.
    # q: Benjamini–Hochberg over the two one-sided Fisher p.
    p_edit = stats.fisher_exact([[10, 10], [0, 40]], alternative="greater")[1]
    p_ruff = stats.fisher_exact([[20, 10], [10, 20]], alternative="greater")[1]
    q_edit, q_ruff = min(p_edit * 2, p_ruff), p_ruff  # p_edit < p_ruff
    assert p_edit < p_ruff
    assert pair_rows(html) == [
        f"Bash Edit 10 of 20 / 10 0.167 0.50 1.00 3.00 {q_edit:.2g} strong",
        f"pytest ruff 20 of 30 / 30 0.333 0.67 0.67 1.33 {q_ruff:.2g} weak",
    ]
    assert '<a href="/p/alpha/skills/Edit/">Edit</a>' in html


def test_too_few_sessions_says_not_enough(owner_client, project):
    used_together(project, TOGETHER[:12])
    html = owner_client.get(URL).content.decode()
    assert "Not enough sessions: 12 of the 50 needed started from" in html
    assert "dependency-matrix" not in html


def test_before_the_worker_stores_a_pass_the_page_says_so(owner_client, skills):
    html = owner_client.get(URL, {"window": "7d", "at": AT}).content.decode()
    assert "Not computed yet: the analytics worker stores this pass every hour." in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            {"window": "7x"},
            "window: Use &lt;n&gt;h or &lt;n&gt;d (e.g. 24h, 7d), from 1h up to 366d.",
        ),
        ({"window": "400d"}, "window: Use &lt;n&gt;h or &lt;n&gt;d"),
        ({"window": ""}, "window: Must not be empty"),
        ({"at": "2026-11-25T12:00:00"}, "at:"),
    ],
)
def test_a_bad_query_is_a_400_page_naming_the_parameter(owner_client, project, query, message):
    response = owner_client.get(URL, query)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert 'href="/p/alpha/skills/"' in html  # the way back, without the query


def test_only_members_see_a_project_s_skills(client, owner_client, outsider, project):
    Project.objects.create(name="Gamma", slug="gamma")
    assert owner_client.get("/p/gamma/skills/").status_code == 404
    assert owner_client.get("/p/no-such/skills/").status_code == 404
    client.force_login(outsider)
    assert client.get(URL).status_code == 404
    anonymous = client.__class__().get(URL)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")


def test_the_project_page_and_the_nav_link_the_analytics_pages(owner_client, project):
    html = owner_client.get("/p/alpha/").content.decode()
    for link in (
        'href="/p/alpha/skills/"',
        'href="/p/alpha/session-patterns/"',
        'href="/anomalies/?project=alpha"',
        'href="/anomalies/">Anomalies</a>',
    ):
        assert link in html


@requires_chromium
@pytest.mark.django_db(transaction=True)
def test_in_chromium_the_columns_sort_and_the_search_box_filters(live_server, browser, skills):
    from selenium.webdriver.common.by import By

    login(browser, live_server, "alice", "password-alice", f"{URL}?window=7d&at={AT}")
    table = wait_for(browser, "#skills-table")

    def order() -> list[str]:
        rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
        return [r.get_attribute("data-skill") for r in rows if r.is_displayed()]

    def header(text: str):
        return table.find_element(By.XPATH, f".//thead//th[normalize-space()='{text}']//button")

    assert order() == ["pytest", "ruff", "mypy"]
    header("Skill").click()
    assert order() == ["mypy", "pytest", "ruff"]
    header("Completion rate").click()
    # Largest first; mypy's rate is not measured and sorts last both ways.
    assert order() == ["ruff", "pytest", "mypy"]
    rate = table.find_element(By.XPATH, ".//thead//th[normalize-space()='Completion rate']")
    assert rate.get_attribute("aria-sort") == "descending"
    header("Completion rate").click()
    assert order() == ["pytest", "ruff", "mypy"]
    assert rate.get_attribute("aria-sort") == "ascending"
    header("Invocations").click()
    assert order() == ["pytest", "ruff", "mypy"]

    search = browser.find_element(By.ID, "skill-search")
    search.send_keys("PY")
    assert order() == ["pytest", "mypy"]
    assert browser.find_element(By.ID, "skill-count").text == "2 of 3 skills shown"
    search.clear()
    search.send_keys("nothing like it")
    assert order() == []
    assert browser.find_element(By.ID, "skill-count").text == "0 of 3 skills shown"
    search.clear()
    search.send_keys("r")
    assert order() == ["ruff"]
    search.clear()
    search.send_keys(" ")
    browser.execute_script("arguments[0].dispatchEvent(new Event('input'))", search)
    assert order() == ["pytest", "ruff", "mypy"]
    screenshots(browser, "skills")
    browser.find_element(By.LINK_TEXT, "Overview").click()
    assert wait_for(browser, "#sessions ~ *, #score").is_displayed()
    assert browser.find_element(By.CSS_SELECTOR, ".tabs [aria-current=page]").text == "Overview"
    screenshots(browser, "project")
    browser.find_element(By.LINK_TEXT, "Session patterns").click()
    wait_for(browser, "#heat-map")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Session patterns of Alpha"
