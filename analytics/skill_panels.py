"""Panels that higher layers add to a project's skill page, without analytics knowing them.

An app registers a function from its `AppConfig.ready()` (integrations registers the
crackerjack phase statistics); the skill view renders every registered panel in order of
registration. A panel with nothing to say for the skill returns an empty string and is left
out. The same pattern as `tracking.panels` for the session page.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.utils.safestring import SafeString

from tracking.models import Project

SkillPanel = Callable[[Project, str, datetime], SafeString]

_skill_panels: dict[str, SkillPanel] = {}


def register_skill_panel(name: str, render: SkillPanel) -> None:
    """Show `render(project, skill, at)` on every skill page (`at`: the page's end of time, now
    unless the query names one); registering a name again replaces it."""
    _skill_panels[name] = render


def skill_panels(project: Project, skill: str, at: datetime) -> list[SafeString]:
    """The HTML of each registered panel for `skill` in `project` as of `at` that has
    something to show."""
    return [html for render in _skill_panels.values() if (html := render(project, skill, at))]
