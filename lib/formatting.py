"""How Cairn writes numbers, durations, sizes, percentages and times for people to read.

One module for the report (`quality.report`), the template filters and the admin, so a figure
reads the same wherever it is shown. Pure functions of their arguments: no Django, because
`quality` (which may import nothing of Django) uses them too.

A missing value is a state of its own, never 0: each function takes the text to show for None
(`missing`), because the report says "not measured", the pages wrap that in a span and the
session panel shows a dash.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

NOT_MEASURED = "not measured"
NOT_KNOWN = "not known"
DASH = "—"

Number = int | float | Decimal


def number(
    x: Number | None, digits: int = 0, *, grouping: bool = True, missing: str = NOT_MEASURED
) -> str:
    """`x` with `digits` decimals: 1234.5 → "1,234.5" (digits=1).

    `grouping=False` leaves out the thousands separators ("1234.50"), as the admin's rates and
    mean durations and the pages' scores are written.
    """
    if x is None:
        return missing
    comma = "," if grouping else ""
    return f"{x:{comma}.{digits}f}"


def signed(
    x: Number | None,
    unit: str = "",
    digits: int = 1,
    *,
    grouping: bool = True,
    missing: str = NOT_MEASURED,
) -> str:
    """`x` with its sign and `unit` appended: 2.5 → "+2.5 pt" (unit=" pt").

    The report groups thousands ("+1,234.0"); the session panel's score changes and points per
    dollar do not (`grouping=False`: "+1234.00").
    """
    if x is None:
        return missing
    comma = "," if grouping else ""
    return f"{x:+{comma}.{digits}f}{unit}"


def percent(
    x: Number | None, digits: int = 1, *, fraction: bool = False, missing: str = NOT_MEASURED
) -> str:
    """A percentage with a space before the sign: 12.5 → "12.5 %".

    `x` is in percent (a measured coverage of 12.5), or with `fraction=True` a share of one
    (an error rate of 0.125) that is multiplied by 100 first.
    """
    if x is None:
        return missing
    return f"{x * 100 if fraction else x:.{digits}f} %"


def figure(
    x: Number | None,
    *,
    decimals: Literal["two", "trimmed", "all"] = "two",
    missing: str = NOT_MEASURED,
) -> str:
    """A value as measured: whole numbers with thousands separators and no decimals; others with

    - "two" decimals (the report: 0.50),
    - "trimmed": two decimals at most, trailing zeros dropped (the pages: 0.5, 1,234.57),
    - "all" the digits Python's repr keeps (the admin shows a value as the tool reported it).
    """
    if x is None:
        return missing
    if float(x).is_integer():
        # Formatted as an int: an int beyond 2**53 keeps its digits.
        return f"{int(x):,}"
    if decimals == "all":
        return repr(x)
    # A small fraction keeps two significant digits rather than reading as 0.00.
    size = abs(float(x))
    places = 2 if size >= 0.01 else 1 - math.floor(math.log10(size))
    text = f"{x:,.{places}f}"
    return text.rstrip("0").rstrip(".") if decimals == "trimmed" else text


def size(n: Number | None, *, missing: str = NOT_MEASURED) -> str:
    """Bytes in decimal units: 1_500_000 → "1.5 MB"; under 1 kB in bytes ("999 B")."""
    if n is None:
        return missing
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{float(n) / scale:,.1f} {unit}"
    return f"{n:,.0f} B"


def usd(x: Number | None, *, symbol: bool = True, missing: str = NOT_KNOWN) -> str:
    """US dollars with cents: "$1,234.50"; `symbol=False` leaves out the "$" (the admin's column
    says "USD" in its title)."""
    if x is None:
        return missing
    return f"{'$' if symbol else ''}{x:,.2f}"


def hours_minutes(minutes: int, *, pad: bool = False) -> str:
    """Whole minutes as "2 h 5 min" (or "2 h 05 min" with `pad`), under an hour as "5 min"."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest:02d} min" if pad else f"{hours} h {rest} min"


def minutes_text(minutes: int | None, *, missing: str = NOT_MEASURED) -> str:
    """An estimate in whole minutes, as the report writes it: "1 h 5 min", "40 min"."""
    return missing if minutes is None else hours_minutes(minutes)


def duration(value: timedelta | float | None, *, missing: str = DASH) -> str:
    """A timedelta or seconds as "1 h 05 min", "3 min 20 s", "4.2 s" or "0.25 s".

    Unlike `minutes_text` the minutes after the hours are padded to two digits: a measured
    duration is read in a column, next to others.
    """
    if value is None:
        return missing
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds < 1:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    return hours_minutes(minutes, pad=True)


def stars_text(stars: int | None) -> str:
    """A rating of 0-5 as "★★★☆☆"; None → "" (no rating without a score)."""
    return "" if stars is None else "★" * stars + "☆" * (5 - stars)


# The one way the pages, the live page (static/cairn_time.js) and the admin write a moment: in
# the display zone (`CAIRN_DISPLAY_TZ`, named in every page's footer), 24-hour, to the second.
DATETIME_STRFTIME = "%Y-%m-%d %H:%M:%S"
DATETIME_DJANGO = "Y-m-d H:i:s"  # the same, as Django's `date` filter and DATETIME_FORMAT say it


def moment_text(moment: datetime | None, *, missing: str = DASH) -> str:
    """A moment as the pages write it: "2026-12-01 16:37:05" (the caller converts it to the
    display zone first)."""
    return missing if moment is None else moment.strftime(DATETIME_STRFTIME)


def timestamp(moment: datetime) -> str:
    """A moment to the second, as the report writes it: "2026-11-20 10:00:00 UTC".

    The moment is written as given: callers pass UTC times (what the database returns).
    """
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def hour_text(moment: datetime) -> str:
    """The hour a moment is in: "2026-11-20 10:00" (hourly rollups)."""
    return f"{moment:%Y-%m-%d %H:00}"
