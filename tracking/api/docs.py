"""`GET /api/docs/`: the Redoc reference page, served so that it asks nothing of the internet."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView

# The page loads only this server's script and schema. Redoc's bundle adds an <img> of its
# vendor's logo from cdn.redoc.ly at run time, which no template can remove: this policy makes
# the browser refuse it (the page hides the empty link, templates/drf_spectacular/redoc.html).
# Redoc runs its search in a worker made from a blob: URL and styles itself inline.
REDOC_CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "style-src 'self' 'unsafe-inline'",
        "script-src 'self' 'unsafe-inline'",
        "worker-src 'self' blob:",
        "connect-src 'self'",
    )
)


class CairnRedocView(SpectacularRedocView):
    """drf-spectacular's Redoc page with a content security policy keeping it offline."""

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response["Content-Security-Policy"] = REDOC_CONTENT_SECURITY_POLICY
        return response
