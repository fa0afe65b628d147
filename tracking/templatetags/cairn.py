"""Display filters for the pages. "Not measured" and "not known" are states of their own and are
never rendered as 0."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django import template
from django.utils.html import format_html

register = template.Library()


def _missing(text: str) -> str:
    return format_html('<span class="missing">{}</span>', text)


@register.filter
def thousands(value: int | float | None) -> str:
    """1234567 → 1,234,567 (numbers people compare by eye); None → "not measured"."""
    if value is None:
        return _missing("not measured")
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{int(value):,}"


@register.filter
def score(value: float | None) -> str:
    return _missing("not measured") if value is None else f"{value:.1f}"


@register.filter
def stars(value: int | None) -> str:
    if value is None:
        return ""
    count = max(0, min(5, value))
    return format_html(
        '<span class="stars" title="{} of 5">{}</span>', count, "★" * count + "☆" * (5 - count)
    )


@register.filter
def usd(value: Decimal | None) -> str:
    return _missing("not known") if value is None else f"${value:,.2f}"


@register.filter
def duration(value: timedelta | float | None) -> str:
    """A timedelta or seconds as "1 h 05 min", "3 min 20 s" or "4.2 s"; None → "—"."""
    if value is None:
        return "—"
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds < 1:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@register.filter
def short_sha(value: str) -> str:
    return value[:10] if value else "—"
