"""A real browser draws the context chart of an imported session, compactions marked."""

from __future__ import annotations

import os
from io import StringIO

from django.contrib.auth.models import User
from django.core.management import call_command

from tests.browser import requires_chromium
from tracking.models import Project, Session

from .conftest import EXPECTED, MAIN, TRANSCRIPTS

pytestmark = requires_chromium

CHART_STATE = """
const canvas = document.getElementById("context-chart");
const chart = Chart.getChart(canvas);
if (!chart) return null;
const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
let painted = 0;
for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) painted++; }
return {turns: chart.data.datasets[0].data.length,
        marks: chart.data.datasets[1].data.filter(v => v !== null),
        painted: painted, area: canvas.width * canvas.height};
"""


def test_it_draws_the_context_chart(transactional_db, live_server, browser):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    project = Project.objects.create(name="Spotter", slug="spotter")
    User.objects.create_user("viewer", password="viewer-pass-123").projects.add(project)
    call_command(
        "import_transcripts", str(TRANSCRIPTS / "spotter"), "--project", "spotter",
        stdout=StringIO(),
    )  # fmt: skip
    session = Session.objects.get(external_id=EXPECTED["files"][MAIN]["session_ids"][0])

    browser.get(f"{live_server.url}{session.get_absolute_url()}")
    browser.find_element(By.NAME, "username").send_keys("viewer")
    browser.find_element(By.NAME, "password").send_keys("viewer-pass-123")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit].primary").click()
    wait = WebDriverWait(browser, 15)
    wait.until(ready.presence_of_element_located((By.ID, "context-chart")))
    state = wait.until(lambda d: d.execute_script(CHART_STATE))
    assert state["turns"] == EXPECTED["files"][MAIN]["unique_keys"]
    assert state["marks"] == [170251]
    assert state["painted"] > state["area"] * 0.01
    if os.environ.get("CAIRN_SCREENSHOTS"):
        browser.execute_script("document.getElementById('claude-code').scrollIntoView()")
        browser.save_screenshot(os.environ["CAIRN_SCREENSHOTS"] + "/session_claude_code.png")
