"""Hour buckets: the rollups, the skills API and the demo count by the UTC hour."""

from __future__ import annotations

from datetime import UTC, datetime


def floor_hour(moment: datetime) -> datetime:
    """The start of the UTC hour `moment` is in (an aware datetime in UTC)."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
