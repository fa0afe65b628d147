"""/live/ in headless Chromium against a real Daphne on the embedded defaults (SQLite file,
in-memory layer, ticker inside the ASGI process): first update, then ingest, then the change."""

from __future__ import annotations

import json
import shutil
import urllib.request
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.analytics import servers
from tests.browser import CHROMEDRIVER, CHROMIUM, log_in


@pytest.fixture(scope="module")
def embedded_server(tmp_path_factory):
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.skip("chromium and chromedriver are not installed")
    var = tmp_path_factory.mktemp("embedded")
    env, key = servers.embedded(var)
    port = servers.free_port()
    server: dict[str, Any] = {"url": f"http://127.0.0.1:{port}", "key": key}

    def start() -> None:
        server["process"] = servers.daphne(port, env, var / "daphne.log")
        servers.wait_until_serving(port, server["process"])

    server["start"] = start
    try:
        start()
        yield server
    finally:
        server["process"].stop()


def ingest(server: dict, events: list[dict]) -> dict:
    request = urllib.request.Request(  # noqa: S310 - the local test server
        server["url"] + "/api/v1/ingest/invocations",
        data=json.dumps({"events": events}).encode(),
        headers={"Authorization": f"Bearer {server['key']}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


def test_it_shows_the_first_update_then_ingested_events_without_reload(embedded_server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 15)
    log_in(browser, embedded_server["url"], "/live/", "alice", "password-alice")
    wait.until(lambda d: d.find_element(By.ID, "live-status").get_attribute("data-state") == "live")
    first_seq = int(browser.find_element(By.ID, "last-update").get_attribute("data-seq"))
    empty = browser.find_element(By.CSS_SELECTOR, "#top-skills tbody td")
    assert empty.text == "No invocations in the last 24 hours."
    browser.execute_script("window.liveMarker = 1")  # gone if the page reloaded

    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    event = {"session": "browser-1", "skill": "pytest", "invoked_at": now}
    result = ingest(
        embedded_server,
        [
            {**event, "id": "t1", "completed": True, "duration_s": 2.0},
            {**event, "id": "t2", "completed": False, "duration_s": 4.0},
        ],
    )
    assert result["accepted"] == 2
    # The table is redrawn on every tick: read a row's cells in one script call, not element by
    # element, or a redraw between two reads leaves a stale element.
    cells = wait.until(
        lambda d: d.execute_script(
            "const row = document.querySelector('tr[data-skill=\"pytest\"]');"
            "return row && [...row.querySelectorAll('td')].map(td => td.innerText);"
        )
    )
    assert cells == ["pytest", "2", "2", "50.0 %", "3.00 s"]
    feed = browser.find_element(By.ID, "feed").text
    assert "Session browser-1 in alpha: active" in feed
    assert browser.find_element(By.ID, "active-count").text == "1"
    assert int(browser.find_element(By.ID, "last-update").get_attribute("data-seq")) > first_seq
    assert browser.execute_script("return window.liveMarker") == 1
    assert browser.execute_script("return Chart.getChart('chart-rates').data.labels") == ["pytest"]


def test_it_shows_reconnecting_and_comes_back_when_the_server_restarts(embedded_server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def state(driver) -> str:
        return driver.find_element(By.ID, "live-status").get_attribute("data-state")

    wait = WebDriverWait(browser, 20)
    log_in(browser, embedded_server["url"], "/live/", "alice", "password-alice")
    wait.until(lambda d: state(d) == "live")
    embedded_server["process"].stop()
    wait.until(lambda d: state(d) == "reconnecting")
    assert "reconnecting in" in browser.find_element(By.ID, "live-status").text
    embedded_server["start"]()
    wait.until(lambda d: state(d) == "live")
    # A new server process: its ticker counts from 1 again, and the page follows it.
    assert int(browser.find_element(By.ID, "last-update").get_attribute("data-seq")) < 50
