"""The Claude Code panel of the session page, registered with `tracking.panels`."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from integrations.claude_code.selectors import session_panel
from tracking.models import Session


def render_session_panel(session: Session) -> SafeString:
    """The panel's HTML: requests, tools, context and cost per checkpoint; empty without data."""
    context = {"session": session, "panel": session_panel(session)}
    return SafeString(render_to_string("integrations/_claude_session.html", context))
