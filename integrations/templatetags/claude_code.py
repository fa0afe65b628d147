"""Filters of the Claude Code panel of the session page (`integrations/_claude_session.html`)."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def percent(value: float | None) -> str:
    """0.125 → "12.5 %"; None (no call with a known outcome) → "—"."""
    return "—" if value is None else f"{value * 100:.1f} %"


@register.filter
def per_dollar(value: float | None) -> str:
    """Score points per dollar, signed; None (no cost or no score change) → "—"."""
    return "—" if value is None else f"{value:+.2f}"


@register.filter
def score_change(value: float | None) -> str:
    """Score points gained since the checkpoint before, signed ("+7.0"); None → "—"."""
    return "—" if value is None else f"{value:+.1f}"
