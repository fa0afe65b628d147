"""The anomalies page: the stored anomalies of the projects the reader may see, every field a
person needs, filtered as the API filters them, paged, each linking to its skill's page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from analytics.detection import evaluate
from tests.analytics.anomaly_data import hour_of, perfect_baseline
from tests.analytics.page_helpers import at, login, screenshots, wait_for
from tests.browser import requires_chromium

T = at("2026-11-20T12:00:00")
HOUR = timedelta(hours=1)
URL = "/anomalies/"


@pytest.fixture
def stored(project, other_project):
    """alpha: a ruff drop opened at 12:00 and resolved at 14:00, a mypy drop opened at 13:00;
    beta: a ruff drop opened at 12:00 (as in the API's tests)."""
    for p in (project, other_project):
        perfect_baseline(p)
        hour_of(p, T - HOUR, 6, 10)
    perfect_baseline(project, skill="mypy")
    hour_of(project, T, 10, 10)
    hour_of(project, T + HOUR, 10, 10)
    hour_of(project, T, 3, 10, skill="mypy")
    for i in range(3):
        evaluate(T + i * HOUR)


def rows(html: str) -> list[str]:
    found = re.findall(r"<tr data-anomaly=\"\d+\">(.*?)</tr>", html, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", r).split()) for r in found]


def test_a_member_sees_the_anomalies_of_their_projects_with_every_field(owner_client, stored):
    response = owner_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    mypy, ruff = rows(html)
    # Newest opened first; beta's ruff drop is not alice's to see.
    assert mypy.startswith("mypy Alpha completion rate drop open")
    assert "Beta" not in html
    # AN-1 (200/200 → 6/10): p 2.66705e-6, z −9.0307; opened 12:00, cleared at 13:00 and 14:00.
    assert ruff == (
        "ruff Alpha completion rate drop resolved fisher_exact_v1"
        " 2026-11-20 11:00:00 to 2026-11-20 12:00:00"
        " 60.0 % of 10 decided 100.0 % of 200 decided"
        " from 2026-11-13 11:00:00 to 2026-11-20 11:00:00"
        " p 2.67e-06 q 2.67e-06 -9.03 peak -9.03 1"
        " opened 2026-11-20 12:00:00 last seen 2026-11-20 12:00:00 resolved 2026-11-20 14:00:00"
    )
    assert "30.0 % of 10 decided" in mypy and "still open" in mypy
    assert 'href="/p/alpha/skills/ruff/"' in html and 'href="/p/alpha/skills/mypy/"' in html


def test_the_filters_narrow_the_list_as_the_api_does(owner_client, stored, owner, other_project):
    assert [
        r.split()[0] for r in rows(owner_client.get(URL, {"status": "open"}).content.decode())
    ] == ["mypy"]
    assert [
        r.split()[0] for r in rows(owner_client.get(URL, {"skill": "ruff"}).content.decode())
    ] == ["ruff"]
    none = owner_client.get(URL, {"metric": "volume"}).content.decode()
    assert rows(none) == [] and "No anomaly matches these filters." in none
    # The form's "any" is an empty value: no filter.
    assert len(rows(owner_client.get(URL, {"status": "", "project": ""}).content.decode())) == 2
    other_project.members.add(owner)
    both = owner_client.get(URL).content.decode()
    assert len(rows(both)) == 3
    only_beta = owner_client.get(URL, {"project": "beta"}).content.decode()
    assert [r.split()[:2] for r in rows(only_beta)] == [["ruff", "Beta"]]
    assert '<option value="beta" selected>' in only_beta


def test_a_project_the_user_may_not_see_is_a_404(owner_client, stored):
    assert owner_client.get(URL, {"project": "beta"}).status_code == 404
    assert owner_client.get(URL, {"project": "no-such"}).status_code == 404


def test_anonymous_readers_are_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"status": "closed"}, "status: &quot;closed&quot; is not a valid choice."),
        ({"metric": "cost"}, "metric: &quot;cost&quot; is not a valid choice."),
        ({"since": "2026-11-20T12:00:00"}, "since:"),
        ({"project": "not a slug!"}, "project:"),
    ],
)
def test_a_bad_filter_is_a_400_page_naming_it(owner_client, project, query, message):
    response = owner_client.get(URL, query)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_it_pages_by_25(owner_client, project):
    skills = [f"tool-{i:02d}" for i in range(26)]
    for skill in skills:
        perfect_baseline(project, skill=skill)
        hour_of(project, T - HOUR, 6, 10, skill=skill)
    evaluate(T)
    first = owner_client.get(URL).content.decode()
    assert len(rows(first)) == 25
    assert "Page 1 of 2 · 26 in all" in first
    second = owner_client.get(URL, {"page": "2"}).content.decode()
    assert len(rows(second)) == 1
    # All opened at the same time: newest id first, so the first stored is last.
    assert rows(second)[0].startswith("tool-00 ")


@requires_chromium
@pytest.mark.django_db(transaction=True)
def test_in_chromium_the_filter_form_narrows_the_list(live_server, browser, stored):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    login(browser, live_server, "alice", "password-alice", URL)
    wait_for(browser, "table.anomalies")
    screenshots(browser, "anomalies")
    Select(browser.find_element(By.NAME, "status")).select_by_visible_text("open")
    browser.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
    WebDriverWait(browser, 15).until(lambda d: "status=open" in d.current_url)
    shown = browser.find_elements(By.CSS_SELECTOR, "tr[data-anomaly]")
    assert [r.find_element(By.TAG_NAME, "td").text for r in shown] == ["mypy"]
    shown[0].find_element(By.LINK_TEXT, "mypy").click()
    WebDriverWait(browser, 15).until(lambda d: "/p/alpha/skills/mypy/" in d.current_url)
    assert "completion rate" in wait_for(browser, "#anomalies").text


def test_volume_and_duration_anomalies_read_in_their_own_units(project):
    from django.template.loader import render_to_string

    from analytics.models import SkillAnomaly

    common = {
        "project": project, "skill": "Read", "anomaly_type": "spike", "opened_at": T,
        "last_seen_at": T, "last_evaluated_at": T, "window_start": T - HOUR, "window_end": T,
        "p_value": 1e-5, "q_value": 2e-5, "deviation_score": 5.0, "peak_deviation_score": 5.0,
    }  # fmt: skip
    volume = SkillAnomaly(
        pk=1, metric="volume", method="poisson_cond_binom_v1", observed_value=21.0,
        observed_n=21, baseline_value=33 / 7, baseline_n=33,
        params={"baseline_hours": [5, 4, 6, 3, 5, 4, 6]}, **common,
    )  # fmt: skip
    duration = SkillAnomaly(
        pk=2, metric="duration", method="robust_z_hourly_mean_v1", observed_value=12.5,
        observed_n=8, baseline_value=2.0, baseline_n=150, params={}, **common,
    )  # fmt: skip
    html = render_to_string("analytics/_anomaly_table.html", {"anomalies": [volume, duration]})
    got_volume, got_duration = rows(html)
    assert (
        "21 invocations 4.71 an hour (33 in 7 same hours) the same hour on the 7 days before"
        in (got_volume)
    )
    assert "mean 12.5 s of 8 durations median 2.0 s of 150 hourly means" in got_duration
    assert "p 1.00e-05 q 2.00e-05" in got_duration
