"""The sessions an OTLP export names (`session.id`), started when new, once per export."""

from __future__ import annotations

from typing import Any

from integrations.otlp.attributes import text
from lib.text import check_text
from tracking.models import Project, Session
from tracking.sessions import SessionStart, session_start

AGENT = "claude-code"
ID_MAX = Session._meta.get_field("external_id").max_length or 200


def session_id(attrs: dict[str, Any]) -> str | None:
    """A record's `session.id`, if it is one that can be stored; None otherwise."""
    value = attrs.get("session.id")
    if not isinstance(value, str) or not value or len(value) > ID_MAX:
        return None
    try:
        check_text(value, "session.id")
    except ValueError:
        return None
    return value


def user_of(attrs: dict[str, Any]) -> str:
    """Who the session is: `user.email`, else `user.account_uuid`. Stored only as the
    session's user, never as a label or in an event's detail."""
    return text(attrs, "user.email") or text(attrs, "user.account_uuid")


def sessions_for(project: Project, wanted: dict[str, str]) -> dict[str, Session]:
    """The session of each external id in `wanted` (id → user), started when new; a user is
    filled in only where the session has none (session_start's rule)."""
    found = {
        s.external_id: s
        for s in Session.objects.filter(project=project, external_id__in=list(wanted))
    }
    for external_id, user in wanted.items():
        session = found.get(external_id)
        if session is None or (user and not session.user_name):
            start = SessionStart(external_id=external_id, agent=AGENT, user_name=user)
            found[external_id], _ = session_start(project=project, start=start)
    for session in found.values():
        session.project = project  # known: no query per session for it later
    return found
