"""`GET /api/v1/`: the API root, a map of the endpoints with links to the reference docs.

It is a page for people finding their way (the JSON and the browsable HTML say the same), so
it needs no credentials and is left out of the OpenAPI schema, which documents the operations.
"""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

# (URL name, path template shown, methods, what it is). Named by URL name rather than
# imported, so the root lists the endpoints of the apps above `tracking` too.
ENDPOINTS: tuple[tuple[str, str, str, str], ...] = (
    ("api-projects", "projects", "GET", "Projects you may see, alphabetical by name"),
    ("api-sessions", "sessions", "GET", "Sessions, newest first"),
    ("api-session-start", "sessions/start", "POST", "Start (or resume) a session"),
    ("api-checkpoints", "checkpoints", "GET, POST", "Checkpoints; POST uploads CI artefacts"),
    ("api-invocations", "invocations", "GET", "Skill invocations, newest first"),
    ("api-ingest", "ingest/invocations", "POST", "Ingest a batch of skill events"),
    ("api-skills", "skills", "GET", "Skill statistics across your projects"),
    ("api-anomalies", "anomalies", "GET", "Stored skill anomalies"),
    ("api-hooks-claude-code", "hooks/claude-code", "POST", "Claude Code hook events"),
)
# Endpoints that take an id or slug: listed with their template, not as a link.
TEMPLATES: tuple[tuple[str, str, str], ...] = (
    ("projects/<slug>", "GET", "One project"),
    ("projects/<slug>/skills", "GET", "Skill statistics of one project"),
    ("sessions/<id>", "GET", "One session"),
    ("sessions/<id>/end", "POST", "End a session"),
    ("checkpoints/<id>", "GET", "One checkpoint with its measurements"),
    ("skills/<skill>/related?project=<slug>", "GET", "Skills used in the same sessions"),
    ("recommendations?project=<slug>&user=<name>", "GET", "Skills for a user to try next"),
    ("predictor?project=<slug>", "GET", "The success predictor and its evaluation"),
    ("predictor/predict", "POST", "The probability that a call completes"),
)


def api_root_document(request: Request) -> dict:
    """The root's content: absolute links to every endpoint, the docs and the schema."""
    endpoints: list[dict[str, str | None]] = [
        {
            "path": f"/api/v1/{shown}",
            "url": request.build_absolute_uri(reverse(name)),
            "methods": methods,
            "description": description,
        }
        for name, shown, methods, description in ENDPOINTS
    ]
    endpoints += [
        {"path": f"/api/v1/{shown}", "url": None, "methods": methods, "description": description}
        for shown, methods, description in TEMPLATES
    ]
    return {
        "name": "Cairn API",
        "version": "v1",
        "docs": request.build_absolute_uri(reverse("api-docs")),
        "schema": request.build_absolute_uri(reverse("api-schema")),
        "app": request.build_absolute_uri("/"),
        "authentication": "Authorization: Bearer cairn_… (a project API key), or a logged-in "
        "session in the browser.",
        "endpoints": endpoints,
    }


@extend_schema(exclude=True)
class ApiRootApi(APIView):
    """The endpoints of the Cairn API, with links to the reference docs (Redoc) and the
    OpenAPI schema. Every path is answered with or without a trailing slash."""

    permission_classes = [AllowAny]
    view_name = "Cairn API"

    def get(self, request: Request) -> Response:
        return Response(api_root_document(request))
