"""What the analytics page tests share: events stored through the one ingest path, a login in
Chromium, waiting for an element, and screenshots at a wide and a narrow width."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from tracking.ingest import InvocationEvent, record_invocations

SHOTS = Path("/tmp/shots-pages")  # noqa: S108 - screenshots for a person to look at
WIRED_SHOTS = Path("/tmp/shots-wire")  # noqa: S108 - the skill pages with their wired parts


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def invoke(
    project,
    skill: str,
    start: datetime,
    outcomes: Sequence[bool | None],
    durations: Sequence[float | None] | None = None,
    *,
    session: str = "s-1",
    phase: str = "",
    step: timedelta = timedelta(minutes=1),
) -> None:
    """Store one invocation per outcome, `step` apart from `start`, through `record_invocations`."""
    durations = durations if durations is not None else [None] * len(outcomes)
    batch = [
        InvocationEvent(
            key=uuid.uuid4().hex,
            session=session,
            skill=skill,
            invoked_at=start + i * step,
            completed=outcome,
            duration_s=duration,
            phase=phase,
        )
        for i, (outcome, duration) in enumerate(zip(outcomes, durations, strict=True))
    ]
    result = record_invocations(project, batch, source="api")
    assert result.accepted == len(batch), result.errors


DEPENDENCY_AT = datetime(2026, 11, 25, 10, tzinfo=UTC)
TOGETHER = [("pytest", "ruff")] * 20 + [("pytest",)] * 10 + [("ruff",)] * 10 + [("Bash",)] * 20


def used_together(project, plan: Sequence[tuple[str, ...]] = TOGETHER) -> None:
    """One session per entry of `plan` (its skills, a minute apart, all completed), an hour
    apart from 80 days before DEPENDENCY_AT, and the worker's dependency pass stored at
    DEPENDENCY_AT. The default: pytest with ruff 20 times, pytest alone 10, ruff alone 10,
    Bash alone 20 (60 sessions)."""
    from analytics.dependencies import refresh_dependencies

    for i, skills in enumerate(plan):
        start = DEPENDENCY_AT - timedelta(days=80) + timedelta(hours=i)
        for k, skill in enumerate(skills):
            invoke(project, skill, start + timedelta(minutes=k), [True], session=f"dep-{i}")
    assert refresh_dependencies(DEPENDENCY_AT) == (1, 0)


def login(browser, live_server, username: str, password: str, next_url: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{live_server.url}/login/?{urlencode({'next': next_url})}")
    browser.find_element(By.NAME, "username").send_keys(username)
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 15).until(lambda d: "/login/" not in d.current_url)


def wait_for(browser, css: str):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, 15).until(lambda d: d.find_elements(By.CSS_SELECTOR, css))[0]


def screenshots(browser, name: str, folder: Path = SHOTS) -> None:
    """The whole page at 1440 px and at 400 px wide, as <folder>/<name>-<width>.png
    (/tmp/shots-pages by default)."""
    folder.mkdir(parents=True, exist_ok=True)
    for width in (1440, 400):
        browser.set_window_size(width, 1000)
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.set_window_size(width, min(int(height) + 120, 8000))
        browser.save_screenshot(str(folder / f"{name}-{width}.png"))
    browser.set_window_size(1280, 1000)
