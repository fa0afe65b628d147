"""Display filters of the analytics pages: rates, intervals, p-values, trend directions and an
anomaly's two sides. The figures are written by `lib.formatting`; a missing figure is "not
measured" (a span of its own), never 0."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from lib import formatting
from tracking.templatetags.cairn import when

register = template.Library()


@cache
def _missing(text: str = formatting.NOT_MEASURED) -> SafeString:
    # Built once: a Skills page asks for it ~9 times per row, formatted or not.
    return format_html('<span class="missing">{}</span>', text)


@register.filter
def rate(value: float | None) -> str:
    """A rate 0–1 as a percentage: 0.875 → "87.5 %"; None → "not measured"."""
    return formatting.percent(value, fraction=True, missing=_missing())


@register.simple_tag
def interval(low: float | None, high: float | None) -> str:
    """A rate's interval as "80.1–92.3 %"; nothing when it is not known."""
    if low is None or high is None:
        return ""
    return f"{low * 100:.1f}–{high * 100:.1f} %"


@register.filter
def seconds(value: float | None) -> str:
    """Seconds as the pages write a duration ("4.2 s", "3 min 20 s"); None → "not measured"."""
    return formatting.duration(value, missing=_missing())


@register.filter
def iso_when(value: str | None) -> str:
    """An ISO 8601 time kept as text (an anomaly's `params`) as the pages write a moment."""
    if not value:
        return formatting.DASH
    try:
        return when(datetime.fromisoformat(value))
    except ValueError:
        return value


@register.filter
def rate_points(value: float | None) -> str:
    """A change of a rate (0–1) in percentage points, signed: −0.006667 → "-0.67 pt"."""
    return formatting.signed(None if value is None else value * 100, " pt", 2, missing=_missing())


@register.filter
def stat(value: float | None) -> str:
    """A statistic (τ, z, a slope) with two decimals at most, small ones to two significant
    digits; None → "not measured"."""
    return formatting.figure(value, decimals="trimmed", missing=_missing())


@register.filter
def pvalue(value: float | None) -> str:
    """A p- or q-value: three significant digits, in scientific notation below 0.001
    ("2.67e-06"), where fixed decimals would round it to 0; None → "not measured"."""
    if value is None:
        return _missing()
    if value != 0 and value < 0.001:
        return f"{value:.2e}"
    return f"{value:.3g}"


DIRECTIONS = {
    "increasing": ("up", "increasing"),
    "decreasing": ("down", "decreasing"),
    "no_trend": ("none", "no trend"),
    "insufficient_data": ("insufficient", "insufficient data"),
}


@register.filter
def direction(value: str) -> SafeString:
    """A trend's direction as a badge (the arrow is drawn by CSS, never an emoji)."""
    kind, text = DIRECTIONS.get(value, ("none", value))
    return format_html('<span class="badge trend {}">{}</span>', kind, text)


@register.filter
def anomaly_status(value: str) -> SafeString:
    """An anomaly's status as a badge: open (still flagged) or resolved."""
    kind = "fail" if value == "open" else "pass"
    return format_html('<span class="badge {}">{}</span>', kind, value)


def _metric_value(metric: str, value: float) -> str:
    if metric == "completion_rate":
        return formatting.percent(value, fraction=True)
    if metric == "duration":
        return formatting.duration(value)
    return formatting.figure(value, decimals="trimmed")


@register.simple_tag
def anomaly_observed(anomaly) -> str:
    """The window's side of an anomaly with its n, worded for its metric."""
    value = _metric_value(anomaly.metric, anomaly.observed_value)
    n = formatting.figure(anomaly.observed_n)
    if anomaly.metric == "completion_rate":
        return f"{value} of {n} decided"
    if anomaly.metric == "duration":
        return f"mean {value} of {n} durations"
    return f"{n} invocations"


@register.simple_tag
def anomaly_baseline(anomaly) -> str:
    """The baseline's side of an anomaly with its n, worded for its metric."""
    value = _metric_value(anomaly.metric, anomaly.baseline_value)
    n = formatting.figure(anomaly.baseline_n)
    if anomaly.metric == "completion_rate":
        return f"{value} of {n} decided"
    if anomaly.metric == "duration":
        return f"median {value} of {n} hourly means"
    hours = len(anomaly.params.get("baseline_hours", [])) if anomaly.params else 0
    return f"{value} an hour ({n} in {hours} same hours)" if hours else f"{value} an hour"
