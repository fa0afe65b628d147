"""The crackerjack panel of the skill page, registered with `analytics.skill_panels`.

A skill is crackerjack's when it is one of its hooks (the invocation's skill is the hook's
name) or a phase recorded without hooks (`crackerjack:<phase>`). The panel shows the
statistics of the phases the skill ran in, over the 30 days of stored runs before the page's
time, and those
phases' recommendations; any other skill gets no panel.
"""

from __future__ import annotations

from datetime import datetime

from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from integrations.crackerjack.models import CrackerjackRun
from integrations.crackerjack.phases import phase_report
from tracking.models import Project

DAYS = 30


def _is_in(phase: dict, skill: str) -> bool:
    return skill == f"crackerjack:{phase['phase']}" or any(
        hook["hook"] == skill for hook in phase["hooks"]
    )


def render_crackerjack_panel(project: Project, skill: str, at: datetime) -> SafeString:
    """The phases `skill` ran in over the DAYS before `at`, their hooks and recommendations;
    empty when it ran in none."""
    if not CrackerjackRun.objects.filter(project=project).exists():
        return SafeString("")
    report = phase_report(project, days=DAYS, now=at)
    phases = [phase for phase in report["phases"] if _is_in(phase, skill)]
    if not phases:
        return SafeString("")
    names = {phase["phase"] for phase in phases}
    context = {
        "skill": skill,
        "days": DAYS,
        "report": report,
        "phases": phases,
        "recommendations": [r for r in report["recommendations"] if r["phase"] in names],
    }
    return SafeString(render_to_string("integrations/_crackerjack_skill.html", context))
