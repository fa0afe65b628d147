"""The one module that pushes live events to WebSocket clients (Zulip's `send_event` rule).

Services call these functions after they store something; the push happens only once the
transaction commits, so a client never hears of a row that was rolled back. Each frame is
encoded once here and delivered as is to every client of the project's events group.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from analytics.frames import checkpoint_data, encode, server_time, session_data
from analytics.liveview import events_group
from tracking.models import Checkpoint, Session

log = logging.getLogger(__name__)


def checkpoint_created(checkpoint: Checkpoint) -> None:
    """Push `checkpoint_created` to the clients that may see the checkpoint's project."""
    data = checkpoint_data(checkpoint)
    _send_on_commit(checkpoint.project_id, "checkpoint_created", "checkpoint", data)


def session_updated(session: Session) -> None:
    """Push `session_updated` (a session started, changed or ended) to its project's clients."""
    data = session_data(session)
    _send_on_commit(session.project_id, "session_updated", "session", data)


def _send_on_commit(project_id: int, kind: str, field: str, data: dict) -> None:
    def send() -> None:
        text = encode({"type": kind, "server_time": server_time(), field: data})
        try:
            group = events_group(project_id)
            async_to_sync(get_channel_layer().group_send)(
                group, {"type": "live.event", "group": group, "text": text}
            )
        except Exception:
            # A live push must never fail the write that caused it; the data is stored.
            log.exception("live push of %s for project %s failed", kind, project_id)

    transaction.on_commit(send)
