"""In a real browser: the score card (partial against full), the session's one tokens-and-cost
card, and the charts (a time axis, straight lines, unique ticks, points that open their
checkpoint). Screenshots go to /tmp/cairn-figures-*.png for a person to look at."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from tests.browser import log_in, requires_chromium
from tracking.ingest import InvocationEvent, record_invocations
from tracking.models import Checkpoint, Project, Session

pytestmark = [requires_chromium, pytest.mark.django_db(transaction=True)]
T0 = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
# Three checkpoints a minute apart, then one three hours later: on a time axis the last gap is
# 180 times the others; on the old evenly spaced axis it was the same.
OFFSETS = [timedelta(0), timedelta(minutes=1), timedelta(minutes=2), timedelta(hours=3, minutes=2)]
CHART_STATE = """
if (typeof Chart === "undefined" || !document.getElementById(arguments[0])) return null;
const chart = Chart.getChart(document.getElementById(arguments[0]));
if (!chart) return null;
const meta = chart.getDatasetMeta(0);
const scale = chart.scales.x;
return {
  type: chart.options.scales.x.type,
  tension: chart.data.datasets.map((d) => d.tension),
  xs: meta.data.map((p) => p.x),
  ys: meta.data.map((p) => p.y),
  labels: chart.data.labels,
  ticks: scale.ticks.map((t) => t.label),
  width: chart.canvas.clientWidth,
  height: chart.canvas.clientHeight,
};
"""


def login(browser, live_server, next_url: str) -> None:
    log_in(browser, live_server.url, next_url, "viewer", "viewer-pass-123")


def wait_for_chart(browser, canvas_id: str) -> dict:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, 15).until(lambda d: d.execute_script(CHART_STATE, canvas_id))


@pytest.fixture
def project(db) -> Project:
    project = Project.objects.create(name="Figures", slug="figures")
    User.objects.create_user("viewer", password="viewer-pass-123").projects.add(project)
    return project


def scored(project, session, at, total, points, **fields) -> Checkpoint:
    """A checkpoint as stored before this change: an "Excellent" 5 stars on 15 points."""
    return Checkpoint.objects.create(
        project=project, session=session, created_at=at, score_total=total,
        points_measured=points, stars=5, label="Excellent", **fields,
    )  # fmt: skip


def test_a_partial_score_has_no_stars_and_a_full_one_has(live_server, browser, project):
    from selenium.webdriver.common.by import By

    failed = [{"metric": "tests.failed", "op": "==", "threshold": 0, "value": 1, "passed": False}]
    partial = scored(project, None, T0, 94.7, 15, kind="ci", gate_verdict="failed",
                     gate_results=failed)  # fmt: skip
    full = scored(project, None, T0 + OFFSETS[1], 91.1, 100, kind="ci", gate_verdict="passed")

    login(browser, live_server, partial.get_absolute_url())
    card = browser.find_element(By.ID, "score")
    browser.save_screenshot("/tmp/cairn-figures-partial.png")
    assert "94.7/100 partial: 15 of 100 points" in card.text
    assert "Excellent" not in card.text and "★" not in card.text
    assert "gate failed" in card.text  # the verdict stands beside the score
    badge = card.find_element(By.CSS_SELECTOR, ".badge.fail")
    # The badge's mark is drawn by CSS, not an emoji glyph.
    mark = browser.execute_script(
        "const s = getComputedStyle(arguments[0], '::before');"
        "return [s.content, s.width, s.backgroundImage];",
        badge,
    )
    assert mark[0] == '""' and mark[2].startswith("linear-gradient")

    browser.get(f"{live_server.url}{full.get_absolute_url()}")
    card = browser.find_element(By.ID, "score")
    browser.save_screenshot("/tmp/cairn-figures-full.png")
    assert "91.1/100 over 100 of 100 points ★★★★★ Excellent" in card.text
    assert "UTC" in browser.find_element(By.ID, "site-footer").text


def test_the_session_has_one_tokens_card_with_its_source(live_server, browser, project):
    from selenium.webdriver.common.by import By

    session = Session.objects.create(
        project=project, external_id="totals-only", started_at=T0, input_tokens=20_070,
        output_tokens=9_000, cache_read_tokens=100_000, cost_usd=Decimal("1.63"),
    )  # fmt: skip
    events = [InvocationEvent(key="k", session="totals-only", skill="Bash", invoked_at=T0)]
    record_invocations(project, events, source="hook", sessions={"totals-only": session})
    scored(project, session, T0 + OFFSETS[1], 70.0, 80, kind="start")

    login(browser, live_server, session.get_absolute_url())
    headings = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "h2")]
    browser.save_screenshot("/tmp/cairn-figures-session.png")
    assert [h for h in headings if "tokens and cost" in h.lower()] == ["Tokens and cost"]
    tokens = browser.find_element(By.ID, "tokens").text
    assert "Source: session totals" in tokens
    assert "20,070" in tokens and "$1.63" in tokens
    page = browser.find_element(By.TAG_NAME, "body").text
    # No card says the tokens beside it were not measured.
    assert "Tokens and cost not measured" not in page
    costs = browser.find_element(By.ID, "checkpoint-costs").text
    assert "known only as totals" in costs


def test_the_score_chart_is_a_time_axis_whose_points_open_their_checkpoint(
    live_server, browser, project
):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    points = [
        scored(project, None, T0 + offset, score, 100, kind="ci")
        for offset, score in zip(OFFSETS, (60.0, 90.0, 62.0, 80.0), strict=True)
    ]
    login(browser, live_server, project.get_absolute_url())
    state = wait_for_chart(browser, "score-chart")
    browser.save_screenshot("/tmp/cairn-figures-project-chart.png")

    assert state["type"] == "linear"
    assert state["labels"] == [int((T0 + o).timestamp() * 1000) for o in OFFSETS]
    assert state["tension"] == [0]
    xs = state["xs"]
    short, long = xs[1] - xs[0], xs[3] - xs[2]
    assert long / short == pytest.approx(180, rel=0.02)  # at their times, not evenly spaced
    shown = [t for t in state["ticks"] if t]
    assert shown and len(shown) == len(set(shown)), state["ticks"]

    # Clicking the last point opens its checkpoint.
    canvas = browser.find_element(By.ID, "score-chart")
    dx = round(xs[3] - state["width"] / 2)
    dy = round(state["ys"][3] - state["height"] / 2)
    ActionChains(browser).move_to_element_with_offset(canvas, dx, dy).click().perform()
    WebDriverWait(browser, 10).until(lambda d: d.current_url.endswith(points[3].get_absolute_url()))


def test_the_checkpoint_trends_are_time_axes_too(live_server, browser, project):
    from selenium.webdriver.common.by import By

    session = Session.objects.create(project=project, external_id="trend", started_at=T0)
    points = [
        scored(project, session, T0 + offset, score, 100, kind="manual")
        for offset, score in zip(OFFSETS, (60.0, 90.0, 62.0, 80.0), strict=True)
    ]
    login(browser, live_server, points[-1].get_absolute_url())
    state = wait_for_chart(browser, "session-trend")
    browser.find_element(By.ID, "trends").location_once_scrolled_into_view  # noqa: B018
    browser.save_screenshot("/tmp/cairn-figures-checkpoint-trends.png")
    assert state["type"] == "linear"
    assert state["tension"] == [0, 0]
    xs = state["xs"]
    assert (xs[3] - xs[2]) / (xs[1] - xs[0]) == pytest.approx(180, rel=0.02)
    shown = [t for t in state["ticks"] if t]
    assert len(shown) == len(set(shown)), state["ticks"]
