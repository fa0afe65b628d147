"""The session page's "Sources and telemetry" panel, registered with `tracking.panels`."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from integrations.otlp.figures import otlp_figures, request_figures, sources, token_source
from tracking.models import Session

SOURCE_NAMES = {"hook": "hooks", "api": "ingest", "otlp": "otlp", "transcript": "transcript"}


def render_otlp_panel(session: Session) -> SafeString:
    """What fed the session, where its tokens come from, and the figures only OTLP has."""
    used = session.invocations.values_list("source", flat=True).distinct()
    fed = sorted({SOURCE_NAMES[s] for s in used if s in SOURCE_NAMES} | set(sources(session)))
    context = {
        "sources": fed,
        "token_source": token_source(session),
        "otlp": otlp_figures(session),
        "requests": request_figures(session),
    }
    return SafeString(render_to_string("integrations/_otlp_session.html", context))
