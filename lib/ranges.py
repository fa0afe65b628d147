"""The valid ranges of the values clients send: timestamps and durations.

Every entry point (the ingest API, session start and end, the `since`/`until` filters, the
transcript parser, the JUnit reader) checks against these, so a value that passes one passes
them all, and every later computation on it stays finite and inside `datetime`'s range.

- Timestamps: 2000-01-01T00:00:00Z <= t < 9999-01-01T00:00:00Z (in UTC, after applying the
  offset). The upper bound leaves a year of headroom below `datetime.max`, so windows, hour
  rounding and offsets added later cannot overflow; nothing Cairn records predates 2000.
  The UTC offset is at most ±15:59, the most Postgres' `timestamptz` takes (Python's own
  limit is ±23:59, so a larger one would pass Python and fail in the database).
- Clock skew: a time something happened (an ingest event, a session's start or end) may lie
  at most `MAX_FUTURE_SKEW` (5 minutes) after the server's clock, to allow for clients whose
  clocks run a little fast; one further ahead did not happen yet and is refused. Filters
  (`since`/`until`) may name any time in the range.
- Counts read from reports: integers 0 <= n <= 2**53, exact as the floats figures are
  stored as, and small enough that percentages of them cannot overflow.
- Measurements stored: finite numbers; a percentage 0 <= p <= 100.
- Durations: finite, 0 <= d <= 7 days (604,800 s). One tool call or one test case longer
  than a week is not a measurement; the bound also keeps a rollup's sum of squares finite.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

TIME_MIN = datetime(2000, 1, 1, tzinfo=UTC)
TIME_MAX = datetime(9999, 1, 1, tzinfo=UTC)  # exclusive
DURATION_MAX_S = 7 * 24 * 3600.0
COUNT_MAX = 2**53
PERCENT_MAX = 100.0

MAX_OFFSET = timedelta(hours=15, minutes=59)
MAX_FUTURE_SKEW = timedelta(minutes=5)

TIME_RANGE = f"{TIME_MIN:%Y-%m-%d} to {TIME_MAX:%Y-%m-%d} (UTC, end excluded)"


def check_time(value: datetime, name: str) -> datetime:
    """`value` if it is aware and inside the timestamp range, else ValueError naming `name`.

    The local time is checked before converting to UTC: converting year 1 with a positive
    offset (or year 9999 with a negative one) would itself overflow.
    """
    offset = value.utcoffset()
    if offset is None:
        raise ValueError(f"'{name}' must include a time zone (e.g. Z or +00:00)")
    if abs(offset) > MAX_OFFSET:
        raise ValueError(f"'{name}' has a UTC offset beyond ±15:59: {value.isoformat()[:40]}")
    local = value.replace(tzinfo=None)
    low, high = TIME_MIN.replace(tzinfo=None), TIME_MAX.replace(tzinfo=None)
    # |offset| < 1 day: a local time within a day of the bounds converts without overflow.
    near = low - timedelta(days=1) <= local < high + timedelta(days=1)
    if not near or not low <= local - offset < high:
        raise ValueError(f"'{name}' is outside {TIME_RANGE}: {value.isoformat()[:40]}")
    return value


def check_not_future(value: datetime, name: str, now: datetime | None = None) -> datetime:
    """`value` unless it lies more than `MAX_FUTURE_SKEW` after `now` (default: the clock's
    now), else ValueError naming `name`. For times something happened, not for filters."""
    now = now or datetime.now(UTC)
    if value > now + MAX_FUTURE_SKEW:
        raise ValueError(
            f"'{name}' is in the future: {value.isoformat()[:40]} is more than "
            f"{MAX_FUTURE_SKEW.total_seconds() / 60:.0f} minutes after the server's time "
            f"{now.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
        )
    return value


def check_duration(value: object, name: str) -> float:
    """`value` as a float if it is a number inside the duration range, else ValueError.

    Compared before converting: an integer too large for a float would raise OverflowError.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"'{name}' must be a number or null")
    if not 0 <= value < math.inf:  # false for NaN as well
        raise ValueError(f"'{name}' must be a finite number >= 0")
    if value > DURATION_MAX_S:
        raise ValueError(f"'{name}' must be at most {DURATION_MAX_S:.0f} s (7 days)")
    return float(value)


def check_count(value: object, name: str) -> int:
    """`value` if it is an integer 0 <= n <= COUNT_MAX, else ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"'{name}' must be an integer count: {value!r:.40}")
    if not 0 <= value <= COUNT_MAX:
        raise ValueError(f"'{name}' must be between 0 and {COUNT_MAX}: {value!r:.40}")
    return value


def is_finite(value: float | int | None) -> bool:
    """Whether a figure can be stored and served as JSON (None is "not measured", also fine)."""
    if value is None:
        return True
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond a float's range
        return False
