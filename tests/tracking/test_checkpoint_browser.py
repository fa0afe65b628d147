"""A real browser draws the checkpoint page's trend charts, with gaps where nothing was measured."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from quality.collectors.base import Source, measured, not_measured
from tests.browser import log_in, requires_chromium
from tracking.checkpoints import checkpoint_record
from tracking.models import Project, Session

pytestmark = requires_chromium

SRC = Source(tool="test")
TREND_STATE = """
const state = {};
for (const id of ["session-trend", "project-trend"]) {
  const canvas = document.getElementById(id);
  const chart = Chart.getChart(canvas);
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) painted++; }
  state[id] = {coverage: chart ? chart.data.datasets[1].data : null,
               painted: painted / (canvas.width * canvas.height)};
}
return state;
"""


def readings(coverage: float | None) -> list:
    if coverage is None:
        return not_measured(["coverage.line_percent"], SRC, "no coverage file")
    return [measured("coverage.line_percent", coverage, SRC), measured("tests.failed", 0, SRC)]


@pytest.mark.django_db(transaction=True)
def test_it_draws_session_and_project_trends(live_server, browser):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    project = Project.objects.create(name="Trend", slug="trend")
    User.objects.create_user("viewer", password="viewer-pass-123").projects.add(project)
    checkpoint_record(project=project, readings=readings(60.0), kind="ci")
    session = Session.objects.create(project=project, external_id="s-trend")
    for kind, coverage in (("start", 70.0), ("manual", None), ("end", 75.5)):
        last = checkpoint_record(
            project=project, readings=readings(coverage), session=session, kind=kind
        )

    log_in(browser, live_server.url, f"/p/trend/c/{last.pk}/", "viewer", "viewer-pass-123")
    wait = WebDriverWait(browser, 15)
    wait.until(lambda d: d.execute_script("return typeof Chart !== 'undefined'"))
    state = wait.until(
        lambda d: (
            d.execute_script(TREND_STATE)
            if d.execute_script("return !!Chart.getChart(document.getElementById('project-trend'))")
            else None
        )
    )
    assert state["session-trend"]["coverage"] == [70, None, 75.5]
    assert state["project-trend"]["coverage"] == [60, 70, None, 75.5]
    assert state["session-trend"]["painted"] > 0.01
    assert state["project-trend"]["painted"] > 0.01
    assert "Executive summary" in browser.find_element(By.ID, "report").text
