"""The Redoc reference in a real browser: it renders, and nothing is fetched from elsewhere."""

from __future__ import annotations

from tests.browser import requires_chromium

pytestmark = requires_chromium


def test_the_reference_renders_and_asks_only_this_server(transactional_db, live_server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{live_server.url}/api/docs/")
    wait = WebDriverWait(browser, 20)
    # Redoc rendered the schema under the content security policy: its title and operations.
    wait.until(ready.text_to_be_present_in_element((By.CSS_SELECTOR, "h1"), "Cairn API"))
    wait.until(lambda b: "Ingest skill invocations" in b.find_element(By.TAG_NAME, "body").text)
    entries = browser.execute_script(
        "return performance.getEntriesByType('resource')"
        ".map(e => [e.name, e.requestStart, e.responseStatus])"
    )
    ours = {url.split("?")[0] for url, _, _ in entries if url.startswith(live_server.url)}
    assert f"{live_server.url}/api/schema/" in ours
    # Redoc's script asks for its vendor's logo on a CDN; the browser must never send it.
    elsewhere = [entry for entry in entries if not entry[0].startswith(live_server.url)]
    assert all(started == 0 and status == 0 for _, started, status in elsewhere), elsewhere
    blocked = [
        log["message"]
        for log in browser.get_log("browser")
        if "violates the following Content Security Policy" in log["message"]
    ]
    assert [url for url, _, _ in elsewhere] == ["https://cdn.redoc.ly/redoc/logo-mini.svg"]
    assert len(blocked) == 1 and "cdn.redoc.ly/redoc/logo-mini.svg" in blocked[0]
    # The vendor logo Redoc's script adds is refused, so it never shows.
    logos = browser.find_elements(By.CSS_SELECTOR, "img[alt='redocly logo']")
    assert all(not logo.is_displayed() for logo in logos)
    assert browser.find_element(By.CSS_SELECTOR, "nav.cairn-bar a[href='/']").text == "Cairn"
