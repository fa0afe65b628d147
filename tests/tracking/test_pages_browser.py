"""In a real browser: the project page's checkpoint list, the keys page (a created key works
against the API, a revoked one gets 401), the error pages in Cairn's layout and the favicon.
Screenshots go to /tmp/cairn-pages-*.png for a person to look at."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User

from tests.browser import log_in, requires_chromium
from tracking.models import ApiKey, Checkpoint, Project, Session

pytestmark = [requires_chromium, pytest.mark.django_db(transaction=True)]
T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
UUID = "0c6a7f0e-5d7b-4c55-9a3e-2b1f9d4e8a61"


@pytest.fixture
def project(db) -> Project:
    project = Project.objects.create(name="Pages", slug="pages")
    User.objects.create_user("viewer", password="viewer-pass-123").projects.add(project)
    return project


def login(browser, live_server, next_url: str) -> None:
    log_in(browser, live_server.url, next_url, "viewer", "viewer-pass-123")


def wait_for(browser, css: str):
    """The element once the page that has it has loaded (a click's navigation is not waited
    for by Selenium, and the suite runs on a loaded machine)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, 15).until(lambda d: d.find_elements(By.CSS_SELECTOR, css))[0]


def wait_for_url(browser, part: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 15).until(lambda d: part in d.current_url)


def api_status(url: str, key: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_checkpoint_list_filters_by_kind_and_pages(live_server, browser, project):
    from selenium.webdriver.common.by import By

    session = Session.objects.create(project=project, external_id=UUID, started_at=T0)
    for i in range(28):
        ci = i % 4 == 0
        Checkpoint.objects.create(
            project=project, session=None if ci else session, kind="ci" if ci else "auto",
            score_total=50 + i, points_measured=60, gate_verdict="passed",
            created_at=T0 + timedelta(minutes=i), commit=f"{i:040x}",
        )  # fmt: skip
    login(browser, live_server, project.get_absolute_url())
    card = wait_for(browser, "#checkpoints")
    rows = card.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert len(rows) == 25
    newest = rows[0].find_elements(By.TAG_NAME, "td")
    assert [td.text for td in newest[:6]] == [
        newest[0].text, newest[1].text, "auto", newest[3].text, "60 of 100", "passed",
    ]  # fmt: skip
    assert newest[3].text.startswith("77.0/100")
    session_id = newest[6].find_element(By.CSS_SELECTOR, "code.id")
    assert (session_id.text, session_id.get_attribute("title")) == ("0c6a7f0e…", UUID)
    browser.set_window_size(1440, 1000)
    browser.save_screenshot("/tmp/cairn-pages-checkpoints.png")

    card.find_element(By.LINK_TEXT, "ci").click()
    wait_for_url(browser, "?kind=ci")
    card = wait_for(browser, "#checkpoints")
    cells = [
        r.find_elements(By.TAG_NAME, "td") for r in card.find_elements(By.CSS_SELECTOR, "tbody tr")
    ]
    assert len(cells) == 7
    assert {(c[2].text, c[6].text) for c in cells} == {("ci", "no session (CI)")}
    assert browser.current_url.endswith("?kind=ci#checkpoints")

    browser.get(f"{live_server.url}{project.get_absolute_url()}")
    browser.find_element(By.CSS_SELECTOR, "#checkpoints a[rel=next]").click()
    wait_for_url(browser, "cpage=2")
    wait_for(browser, "#checkpoints")
    rows = browser.find_elements(By.CSS_SELECTOR, "#checkpoints tbody tr")
    assert len(rows) == 3
    assert "cpage=2" in browser.current_url


def test_a_key_made_on_the_page_works_once_shown_and_401s_when_revoked(
    live_server, browser, project
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    login(browser, live_server, project.get_absolute_url())
    wait_for(browser, "#api-keys a").click()
    wait_for(browser, "input[name=name]").send_keys("browser reader")
    Select(browser.find_element(By.NAME, "scope")).select_by_visible_text("read-only")
    browser.save_screenshot("/tmp/cairn-pages-keys-form.png")
    browser.find_element(By.ID, "create-key").click()
    plain = wait_for(browser, "#plain-key").text
    browser.save_screenshot("/tmp/cairn-pages-key-created.png")
    assert plain.startswith(ApiKey.PREFIX) and len(plain) > 40
    key = ApiKey.objects.get(project=project, name="browser reader")
    assert key.scope == "read" and key.prefix == plain[:12]

    url = f"{live_server.url}/api/v1/projects/{project.slug}"
    assert api_status(url, plain) == 200

    browser.find_element(By.LINK_TEXT, f"Back to the keys of {project.name}").click()
    row = wait_for(browser, f'tr[data-prefix="{key.prefix}"]')
    assert plain not in browser.page_source
    assert "read-only" in row.text and "browser reader" in row.text
    assert "never used" not in row.text  # the API call above was its first use
    row.find_element(By.XPATH, ".//button[text()='Revoke']").click()
    assert f"Revoked key {key.prefix}…" in wait_for(browser, ".banner").text
    browser.save_screenshot("/tmp/cairn-pages-keys-revoked.png")
    assert api_status(url, plain) == 401


def test_rotating_on_the_page_gives_a_working_key_and_retires_the_old(
    live_server, browser, project
):
    from selenium.webdriver.common.by import By

    old, old_plain = project.create_api_key(scope="write", name="hooks")
    login(browser, live_server, f"/p/{project.slug}/keys/")
    row = wait_for(browser, f'tr[data-prefix="{old.prefix}"]')
    row.find_element(By.XPATH, ".//button[text()='Rotate']").click()
    new_plain = wait_for(browser, "#plain-key").text
    url = f"{live_server.url}/api/v1/projects/{project.slug}"
    assert api_status(url, new_plain) == 200
    assert api_status(url, old_plain) == 401


@pytest.mark.urls("tests.tracking.raising_urls")
def test_error_pages_carry_the_layout_and_the_api_answers_json(live_server, browser, project):
    from selenium.webdriver.common.by import By

    login(browser, live_server, "/p/no-such-project/")
    assert wait_for(browser, "#error h1").text == "Page not found (404)"
    nav = browser.find_element(By.CSS_SELECTOR, ".topbar nav").text
    assert "Projects" in nav and "Live" in nav and "viewer" in nav
    assert browser.title == "Not found · Cairn"
    browser.save_screenshot("/tmp/cairn-pages-404.png")

    browser.get(f"{live_server.url}/test-page-bug")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Server error (500)"
    nav = browser.find_element(By.CSS_SELECTOR, ".topbar nav").text
    # No user without a context; the API root and the reference docs, as on every page.
    assert nav.split() == ["Cairn", "Projects", "Live", "API", "API", "docs"]
    assert "hunter2" not in browser.page_source
    browser.save_screenshot("/tmp/cairn-pages-500.png")

    browser.get(f"{live_server.url}/api/v1/no-such-thing")
    body = json.loads(browser.find_element(By.TAG_NAME, "body").text)
    assert body["error"]["code"] == "not_found"


def test_the_favicon_is_linked_and_favicon_ico_answers(live_server, browser, project):
    from selenium.webdriver.common.by import By

    browser.get(f"{live_server.url}/login/")
    icon = browser.find_element(By.CSS_SELECTOR, "link[rel=icon]")
    assert icon.get_attribute("type") == "image/svg+xml"
    fetched = browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        Promise.all([arguments[0], "/favicon.ico"].map((u) => fetch(u).then(async (r) => ({
          status: r.status, type: r.headers.get("content-type"), url: r.url,
          svg: (await r.text()).startsWith("<svg"),
        })))).then(done);
        """,
        icon.get_attribute("href"),
    )
    for answer in fetched:
        assert answer["status"] == 200
        assert answer["type"].startswith("image/svg+xml")
        assert answer["svg"] and answer["url"].endswith("/static/favicon.svg")
    browser.get(f"{live_server.url}/static/favicon.svg")
    browser.save_screenshot("/tmp/cairn-pages-favicon.png")
