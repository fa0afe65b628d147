"""A real browser against a live server: log in through the form, open a project, see its chart.

Needs Debian's `chromium` and `chromium-driver`; skipped (not failed) only when they are missing.
"""

from __future__ import annotations

from django.contrib.auth.models import User

from tests.browser import requires_chromium
from tests.tracking.pages_support import seed
from tracking.models import Checkpoint
from tracking.selectors import CHART_POINTS

pytestmark = requires_chromium

CHART_STATE = """
const canvas = document.getElementById("score-chart");
const chart = Chart.getChart(canvas);
const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
let painted = 0;
for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) painted++; }
return {points: chart ? chart.data.datasets[0].data.length : null, painted: painted,
        area: canvas.width * canvas.height};
"""


def test_it_logs_in_and_draws_the_project_score_chart(transactional_db, live_server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    project = seed(days=3)["demo-payments-api"]
    User.objects.create_user("viewer", password="viewer-pass-123").projects.add(project)
    expected = min(
        Checkpoint.objects.filter(project=project, score_total__isnull=False).count(),
        CHART_POINTS,
    )

    browser.get(f"{live_server.url}/p/{project.slug}/")
    assert "/login/" in browser.current_url
    browser.find_element(By.NAME, "username").send_keys("viewer")
    browser.find_element(By.NAME, "password").send_keys("viewer-pass-123")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit].primary").click()

    wait = WebDriverWait(browser, 15)
    wait.until(ready.presence_of_element_located((By.ID, "score-chart")))
    assert browser.current_url == f"{live_server.url}/p/{project.slug}/"
    wait.until(lambda d: d.execute_script("return typeof Chart !== 'undefined'"))
    state = wait.until(
        lambda d: (
            d.execute_script(CHART_STATE)
            if d.execute_script("return !!Chart.getChart(document.getElementById('score-chart'))")
            else None
        )
    )
    assert expected > 5
    assert state["points"] == expected
    # A drawn line chart paints a visible share of its canvas; a blank one paints nothing.
    assert state["painted"] > state["area"] * 0.01
    assert "Demo data." in browser.find_element(By.CSS_SELECTOR, ".banner").text
