"""`{% checkpoint_report checkpoint %}` and `{% session_comparison session %}` for the pages."""

from __future__ import annotations

from django import template
from django.utils.safestring import mark_safe

from quality.markdown import to_html
from quality.report import render_markdown
from tracking import trends
from tracking.models import Checkpoint, Session
from tracking.reports import report_data

register = template.Library()


@register.inclusion_tag("tracking/_checkpoint_report.html")
def checkpoint_report(checkpoint: Checkpoint) -> dict:
    """The checkpoint's report (the same one `manage.py checkpoint` prints) and its trends."""
    markdown = render_markdown(report_data(checkpoint), body_only=True)
    return {
        "checkpoint": checkpoint,
        # to_html escapes every character of the Markdown before adding its own tags.
        "report_html": mark_safe(to_html(markdown, heading_offset=1)),  # noqa: S308
        "trends": trends.trend_data(checkpoint),
    }


@register.inclusion_tag("tracking/_session_comparison.html")
def session_comparison(session: Session) -> dict:
    """The session's key figures at its start checkpoint and at its end (or latest) one."""
    return {"comparison": trends.session_comparison(session)}
