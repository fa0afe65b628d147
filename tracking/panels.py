"""Panels that other apps add to the session page, without tracking knowing them.

An app registers a function from its `AppConfig.ready()`; the session view renders every
registered panel in order of registration and the template shows the HTML. This keeps
tracking's templates free of other apps' tag libraries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.utils.safestring import SafeString

from tracking.models import Session

SessionPanel = Callable[[Session], SafeString]

_session_panels: dict[str, SessionPanel] = {}


@dataclass(frozen=True)
class TokenSource:
    """Where a session's tokens and cost come from, for the page's one "Tokens and cost" card."""

    source: str  # "transcript", "hooks", "ingest", "session totals"
    detail: str  # one sentence: what was read
    rows: list[tuple[str, int]]  # tokens by kind, in the order people read them
    cost_usd: Decimal | None


TokenSourceOf = Callable[[Session], TokenSource | None]
_token_sources: dict[str, TokenSourceOf] = {}


def register_token_source(name: str, source_of: TokenSourceOf) -> None:
    """Ask `source_of(session)` for the session's tokens before tracking's own totals."""
    _token_sources[name] = source_of


def token_source(session: Session) -> TokenSource | None:
    """The first registered source that holds the session's tokens; None if none does."""
    for source_of in _token_sources.values():
        found = source_of(session)
        if found is not None:
            return found
    return None


def register_session_panel(name: str, render: SessionPanel) -> None:
    """Show `render(session)` on every session page; registering a name again replaces it."""
    _session_panels[name] = render


def session_panels(session: Session) -> list[SafeString]:
    """The HTML of each registered panel for `session`, in order of registration."""
    return [render(session) for render in _session_panels.values()]


SessionFacts = Callable[[Session], dict]
_session_facts: dict[str, SessionFacts] = {}


def register_session_facts(name: str, facts_of: SessionFacts) -> None:
    """Add `facts_of(session)` (e.g. {"sources": ["otlp"], "otlp": {...}}) to a session's REST
    detail; `sources` lists are joined, other keys set."""
    _session_facts[name] = facts_of


def session_facts(session: Session) -> dict:
    """What the registered apps know of the session, merged; `sources` sorted, each once."""
    merged: dict = {"sources": set()}
    for facts_of in _session_facts.values():
        facts = dict(facts_of(session))
        merged["sources"] |= set(facts.pop("sources", ()))
        merged.update(facts)
    merged["sources"] = sorted(merged["sources"])
    return merged


LiveSessionFields = Callable[[list[Session]], dict[int, dict]]
_live_session_fields: dict[str, LiveSessionFields] = {}


def register_live_session_fields(name: str, fields_of: LiveSessionFields) -> None:
    """Add `fields_of(sessions)[session.pk]` to each live `session_updated` frame. It gets a
    whole batch (an ingest may update a thousand sessions), so it can read them in a few
    queries, not a few per session."""
    _live_session_fields[name] = fields_of


def live_session_fields(sessions: list[Session]) -> dict[int, dict]:
    """The registered fields of each session, merged, by session id."""
    merged: dict[int, dict] = {s.pk: {} for s in sessions}
    for fields_of in _live_session_fields.values():
        for pk, fields in fields_of(sessions).items():
            merged.setdefault(pk, {}).update(fields)
    return merged
