"""Filters of the Claude Code panel of the session page (`integrations/_claude_session.html`),
written by `lib.formatting`; a missing figure is a dash here."""

from __future__ import annotations

from django import template

from lib.formatting import DASH, signed
from lib.formatting import percent as _percent

register = template.Library()


@register.filter
def percent(value: float | None) -> str:
    """0.125 → "12.5 %"; None (no call with a known outcome) → "—"."""
    return _percent(value, fraction=True, missing=DASH)


@register.filter
def per_dollar(value: float | None) -> str:
    """Score points per dollar, signed; None (no cost or no score change) → "—"."""
    return signed(value, digits=2, grouping=False, missing=DASH)


@register.filter
def score_change(value: float | None) -> str:
    """Score points gained since the checkpoint before, signed ("+7.0"); None → "—"."""
    return signed(value, digits=1, grouping=False, missing=DASH)
