"""/live/ at 1440 px in headless Chromium against a real Daphne: active sessions with full UUIDs
and a subagent id fit without horizontal scrolling, each id links to its session's page and is
shortened the one way (first 8 characters and "…", the whole id in the tooltip)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pytest

from tests.analytics import servers
from tests.analytics.test_live_page import ingest
from tests.browser import CHROMEDRIVER, CHROMIUM, log_in

IDS = [
    "0c6a7f0e-5d7b-4c55-9a3e-2b1f9d4e8a61",
    "7d2e9b41-0f3a-4e8c-b6d5-91a2c3e4f5a6",
    "0c6a7f0e-5d7b-4c55-9a3e-2b1f9d4e8a61:agent-a1b2c3d4e5f6",
    "sess-live",
]
OVERFLOW = """
const root = document.scrollingElement;
return {
  page: [root.scrollWidth, root.clientWidth],
  cards: [...document.querySelectorAll('.card')].map(c => [c.scrollWidth, c.clientWidth]),
  rows: [...document.querySelectorAll('#active-sessions tbody tr')].map(r => r.offsetHeight),
};
"""


@pytest.fixture(scope="module")
def embedded_server(tmp_path_factory):
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.skip("chromium and chromedriver are not installed")
    with servers.embedded_daphne(tmp_path_factory.mktemp("embedded-layout")) as server:
        yield server


def test_active_sessions_link_their_pages_and_fit_at_1440_px(embedded_server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.set_window_size(1440, 1000)
    wait = WebDriverWait(browser, 15)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    events = [
        {"id": f"l{i}", "session": sid, "skill": "pytest", "invoked_at": now, "completed": True}
        for i, sid in enumerate(IDS)
    ]
    assert ingest(embedded_server, events)["accepted"] == len(IDS)

    log_in(browser, embedded_server["url"], "/live/", "alice", "password-alice")
    links = wait.until(
        lambda d: d.execute_script(
            "const links = [...document.querySelectorAll('#active-sessions tbody a')];"
            "return links.length === 4 && links.map(a => [a.innerText, a.firstChild.title,"
            " new URL(a.href).pathname]);"
        )
    )
    shown = {title: (text, path) for text, title, path in links}
    assert set(shown) == set(IDS)
    assert shown["sess-live"][0] == "sess-live"
    assert shown[IDS[0]][0] == "0c6a7f0e…" and shown[IDS[2]][0] == "0c6a7f0e…"
    assert shown[IDS[1]][0] == "7d2e9b41…"
    for _, path in shown.values():
        assert path.startswith("/p/alpha/s/") and path.endswith("/")
    layout = browser.execute_script(OVERFLOW)
    browser.save_screenshot("/tmp/cairn-pages-live-1440.png")
    assert layout["page"][0] <= layout["page"][1], layout
    assert all(scroll <= client for scroll, client in layout["cards"]), layout
    # One line per row: no id wraps onto several lines.
    assert max(layout["rows"]) < 2 * min(layout["rows"]), layout

    # A link opens the session's page, which names the session whole.
    path = shown[IDS[1]][1]
    browser.get(embedded_server["url"] + path)
    assert IDS[1] in browser.find_element(By.TAG_NAME, "h1").text
