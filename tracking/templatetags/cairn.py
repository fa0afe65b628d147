"""Display filters for the pages. "Not measured" and "not known" are states of their own and are
never rendered as 0. The figures are written by `lib.formatting`, as in the report and the admin."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django import template
from django.http import QueryDict
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from lib import formatting
from quality import report
from quality import score as score_

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


# Ids up to this long are shown whole; longer ones as their first SHORT_ID_PREFIX characters
# and "…", the whole id in the tooltip. static/cairn_ids.js applies the same rule.
SHORT_ID_MAX = 12
SHORT_ID_PREFIX = 8


@register.filter
def short_id_text(value: str | None) -> str:
    """An id as the pages show it: whole when at most SHORT_ID_MAX characters ("sess-live"),
    else its first SHORT_ID_PREFIX characters and "…" ("9f1c2d3e…"); never cut at the end."""
    text = str(value or "")
    if len(text) <= SHORT_ID_MAX:
        return text
    return text[:SHORT_ID_PREFIX] + "…"


@register.filter
def short_id(value: str | None) -> str:
    """An id shortened by `short_id_text`, in <code> with the whole id as its tooltip."""
    text = str(value or "")
    if not text:
        return "—"
    return format_html('<code class="id" title="{}">{}</code>', text, short_id_text(text))


@register.filter
def short_sha(value: str) -> str:
    return value[:10] if value else "—"


def display_zone_name() -> str:
    """The zone the page shows times in: the one `tracking.zones` activated for the request
    (the person's own or the site's `CAIRN_DISPLAY_TZ`)."""
    return timezone.get_current_timezone_name()


@register.simple_tag
def display_zone() -> str:
    """The display zone's name, for the footer and the scripts (`<html data-tz>`)."""
    return display_zone_name()


@register.filter
def when(value: datetime | None) -> str:
    """A moment as `<time>` in the display zone, "2026-12-01 16:37:05"; None → "—"."""
    if value is None:
        return formatting.DASH
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        value.isoformat(),
        display_zone_name(),
        formatting.moment_text(local),
    )


@register.filter
def minutes(value: int | None) -> str:
    """Whole minutes as "1 h 51 min" (as the report writes them); None → "not measured"."""
    return formatting.minutes_text(value, missing=_missing(formatting.NOT_MEASURED))


def _badge(kind: str, text: str, title: str = "") -> SafeString:
    # The icon is drawn by CSS (.badge.pass::before …), never an emoji: those are empty boxes
    # on a machine without an emoji font.
    return format_html('<span class="badge {}" title="{}">{}</span>', kind, title or text, text)


@register.filter
def gate_outcome(condition: dict[str, Any]) -> SafeString:
    """A gate condition's result as a badge: passed, failed, or "not evaluated: why"."""
    text = report.gate_outcome(condition)
    kind = {True: "pass", False: "fail"}.get(condition.get("passed"), "none")  # type: ignore[arg-type]
    return _badge(kind, text)


@register.simple_tag
def gate_verdict(verdict: str, conditions: list[dict[str, Any]] | None, short: bool = False) -> str:
    """The gate's verdict as a badge: "gate passed", "gate failed", "not evaluated" (why in its
    title) or "no gate" when the checkpoint was given no conditions."""
    text = report.gate_verdict_text(verdict, conditions or [])
    prefix = "" if short else "gate "
    if verdict == "passed":
        return _badge("pass", f"{prefix}passed")
    if verdict == "failed":
        return _badge("fail", f"{prefix}failed")
    if text == "no gate":
        return format_html('<span class="missing">{}</span>', text)
    why = text.split(": ", 1)[-1]
    return _badge("none", f"{prefix}not evaluated", f"not evaluated: {why}")


@register.inclusion_tag("tracking/_score.html")
def score_figure(total: float | None, points_measured: float | None) -> dict[str, Any]:
    """A Quality Score with the points it was measured over: stars and label over at least
    `score.FULL_SHARE` of the points, "partial: 15 of 100 points" (no stars, no label) below."""
    partial = score_.is_partial(total, points_measured)
    return {
        "total": total,
        "points": points_measured,
        "partial": partial,
        "partial_text": score_.partial_text(points_measured),
        "stars": score_.stars(total, points_measured),
        "label": score_.label(total, points_measured),
    }


@register.simple_tag
def partial_below() -> str:
    """How many of the 100 points a total needs for stars and a label (`score.FULL_SHARE`)."""
    return formatting.figure(score_.FULL_SHARE * score_.MAX_POINTS, decimals="trimmed")


@register.simple_tag(takes_context=True)
def page_query(context: template.Context, param: str, number: int) -> str:
    """The query string of this page with `param` set to `number`, the other parameters (a
    filter, another list's page) kept, so paging one list leaves the rest of the page as it is."""
    request = context.get("request")
    query = request.GET.copy() if request is not None else QueryDict(mutable=True)
    query[param] = str(number)
    return "?" + query.urlencode()
