"""What the domain tells the layers above it after it stores something.

Tracking does not know the WebSocket layer. Its services call these functions inside their
transaction; the functions send Django signals, and whoever pushes live events subscribes
(analytics connects its broadcaster in `AnalyticsConfig.ready()`). A receiver that talks to
clients must defer the push to `transaction.on_commit`, so nobody hears of a rolled-back row.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.dispatch import Signal

from tracking.models import Checkpoint, Session

# Sent with `checkpoint=` (a stored Checkpoint).
checkpoint_created = Signal()
# Sent with `sessions=` (a list of Sessions that started, changed or ended), once per batch.
sessions_updated = Signal()


def send_checkpoint_created(checkpoint: Checkpoint) -> None:
    """Tell the subscribers that `checkpoint` was stored."""
    checkpoint_created.send(sender=Checkpoint, checkpoint=checkpoint)


def send_sessions_updated(sessions: Iterable[Session]) -> None:
    """Tell the subscribers that these sessions started, changed or ended: one signal for all,
    so an ingest batch that starts a thousand sessions is pushed in one go."""
    batch = list(sessions)
    if batch:
        sessions_updated.send(sender=Session, sessions=batch)
