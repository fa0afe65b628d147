"""The one module that pushes live events to WebSocket clients (Zulip's `send_event` rule).

It subscribes to the domain's signals (`tracking.events`, connected by `connect()` from
`AnalyticsConfig.ready()`); the push happens only once the transaction commits, so a client
never hears of a row that was rolled back. Each frame is encoded once here and delivered as is
to every client of the project's events group.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from asgiref.sync import async_to_sync
from django.db import transaction

from analytics.frames import (
    anomaly_data,
    checkpoint_data,
    encode,
    experiment_data,
    server_time,
    sessions_data,
)
from analytics.layer import channel_layer
from analytics.liveview import events_group
from analytics.models import Experiment, SkillAnomaly
from tracking import events
from tracking.models import Checkpoint, Session

log = logging.getLogger(__name__)


def connect() -> None:
    """Push the domain's events (`tracking.events`) to the clients; called once at start-up."""
    events.checkpoint_created.connect(_on_checkpoint_created, dispatch_uid="live-checkpoint")
    events.sessions_updated.connect(_on_sessions_updated, dispatch_uid="live-sessions")


def _on_checkpoint_created(sender: type, *, checkpoint: Checkpoint, **kwargs: object) -> None:
    checkpoint_created(checkpoint)


def _on_sessions_updated(sender: type, *, sessions: list[Session], **kwargs: object) -> None:
    sessions_updated(sessions)


def checkpoint_created(checkpoint: Checkpoint) -> None:
    """Push `checkpoint_created` to the clients that may see the checkpoint's project."""
    data = checkpoint_data(checkpoint)
    _send_on_commit([(checkpoint.project_id, "checkpoint_created", "checkpoint", data)])


def session_updated(session: Session) -> None:
    """Push `session_updated` (a session started, changed or ended) to its project's clients."""
    sessions_updated([session])


def sessions_updated(sessions: Iterable[Session]) -> None:
    """`session_updated` for each session, all pushed together once the transaction commits.

    An ingest batch may start a thousand sessions: one hop into the event loop for all of them
    costs milliseconds, one per session would cost seconds.
    """
    sessions = list(sessions)
    _send_on_commit(
        [
            (s.project_id, "session_updated", "session", data)
            for s, data in zip(sessions, sessions_data(sessions), strict=True)
        ]
    )


def anomalies_changed(opened: Iterable[SkillAnomaly], resolved: Iterable[SkillAnomaly]) -> None:
    """Push `anomaly_opened` / `anomaly_resolved` to each anomaly's project, after commit."""
    _send_on_commit(
        [(a.project_id, "anomaly_opened", "anomaly", anomaly_data(a)) for a in opened]
        + [(a.project_id, "anomaly_resolved", "anomaly", anomaly_data(a)) for a in resolved]
    )


def experiments_updated(changed: Iterable[tuple[Experiment, dict, dict | None]]) -> None:
    """Push `experiment_updated` for each (experiment, results, previous results) whose
    decision changed, to the experiment's project, after commit."""
    _send_on_commit(
        [
            (e.project_id, "experiment_updated", "experiment", experiment_data(e, now, before))
            for e, now, before in changed
        ]
    )


def _send_on_commit(messages: list[tuple[int, str, str, dict]]) -> None:
    if not messages:
        return

    async def send_all() -> None:
        layer = channel_layer()
        now = server_time()
        sends = []
        for project_id, kind, field, data in messages:
            group = events_group(project_id)
            text = encode({"type": kind, "server_time": now, field: data})
            sends.append(
                layer.group_send(group, {"type": "live.event", "group": group, "text": text})
            )
        await asyncio.gather(*sends)

    def send() -> None:
        try:
            async_to_sync(send_all)()
        except Exception:
            # A live push must never fail the write that caused it; the data is stored.
            log.exception("live push of %d events failed", len(messages))

    transaction.on_commit(send)
