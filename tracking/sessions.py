"""Starting and ending sessions: the writes behind the REST API (and anyone else who needs them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from tracking import events, instruments
from tracking.models import Project, Session

# Descriptive fields a start may fill in on a session that already exists.
START_FIELDS = ("agent", "user_name", "host", "branch", "start_commit")


class SessionError(ValueError):
    """A write that contradicts what is stored; the message says what."""


@dataclass(frozen=True)
class SessionStart:
    external_id: str
    agent: str = ""
    user_name: str = ""
    host: str = ""
    branch: str = ""
    start_commit: str = ""
    started_at: datetime | None = None


def session_start(*, project: Project, start: SessionStart) -> tuple[Session, bool]:
    """The session with this external id, created if new; returns (session, created).

    Idempotent: starting a session that exists changes none of what it already has, but fills
    in descriptive fields it left blank (a session first created by ingest knows only its id).
    """
    fields = {name: getattr(start, name) for name in START_FIELDS}
    started_at = start.started_at or timezone.now()
    try:
        with transaction.atomic():
            session, created = Session.objects.get_or_create(
                project=project,
                external_id=start.external_id,
                defaults={**fields, "started_at": started_at},
            )
    except IntegrityError:
        # A concurrent start of the same id won the insert: that session is the answer.
        session = Session.objects.get(project=project, external_id=start.external_id)
        created = False
    changed = created
    if created:
        instruments.sessions_started.labels(instruments.agent_label(session.agent)).inc()
    if not created:
        blank = {k: v for k, v in fields.items() if v and not getattr(session, k)}
        if blank:
            Session.objects.filter(pk=session.pk).update(**blank, updated_at=timezone.now())
            session.refresh_from_db()
            changed = True
    if changed:
        events.send_sessions_updated([session])
    return session, created


def session_end(
    *, session: Session, end_commit: str = "", ended_at: datetime | None = None
) -> tuple[Session, bool]:
    """Mark a session ended; returns (session, changed).

    Idempotent: ending an ended session changes nothing (the first end wins), so a client
    retrying after a lost answer gets the same result.
    """
    ended_at = ended_at or timezone.now()
    if ended_at < session.started_at:
        raise SessionError(
            f"ended_at {ended_at.isoformat()} is before started_at {session.started_at.isoformat()}"
        )
    # Conditional update: of two concurrent ends exactly one changes the row.
    changed = Session.objects.filter(pk=session.pk, status=Session.ACTIVE).update(
        status=Session.ENDED,
        ended_at=ended_at,
        end_commit=end_commit,
        updated_at=timezone.now(),
    )
    session.refresh_from_db()
    if changed:
        instruments.sessions_ended.labels(instruments.agent_label(session.agent)).inc()
        events.send_sessions_updated([session])
    return session, bool(changed)
