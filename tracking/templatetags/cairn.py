"""Display filters for the pages. "Not measured" and "not known" are states of their own and are
never rendered as 0. The figures are written by `lib.formatting`, as in the report and the admin."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django import template
from django.utils.html import format_html

from lib import formatting

register = template.Library()


def _missing(text: str) -> str:
    return format_html('<span class="missing">{}</span>', text)


@register.filter
def thousands(value: int | float | None) -> str:
    """1234567 → 1,234,567 (numbers people compare by eye); None → "not measured"."""
    return formatting.figure(value, decimals="trimmed", missing=_missing(formatting.NOT_MEASURED))


@register.filter
def score(value: float | None) -> str:
    """A Quality Score with one decimal: "72.5"; None → "not measured"."""
    return formatting.number(value, 1, grouping=False, missing=_missing(formatting.NOT_MEASURED))


@register.filter
def stars(value: int | None) -> str:
    """A star rating, clamped to 0-5; None → nothing."""
    if value is None:
        return ""
    count = max(0, min(5, value))
    return format_html(
        '<span class="stars" title="{} of 5">{}</span>', count, formatting.stars_text(count)
    )


@register.filter
def usd(value: Decimal | None) -> str:
    """ "$1,234.50"; None (a model without a price) → "not known"."""
    return formatting.usd(value, missing=_missing(formatting.NOT_KNOWN))


@register.filter
def duration(value: timedelta | float | None) -> str:
    """A timedelta or seconds as "1 h 05 min", "3 min 20 s" or "4.2 s"; None → "—"."""
    return formatting.duration(value)


@register.filter
def short_sha(value: str) -> str:
    return value[:10] if value else "—"
