"""`POST /api/v1/ingest/invocations`: batches of skill events from agents and scripts."""

from __future__ import annotations

import time

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import APIView

from lib.text import JSONDepthError, loads_bounded
from tracking import instruments
from tracking.api.limits import PayloadTooLarge, read_body
from tracking.api.permissions import HasWriteKey
from tracking.api.schema import errors
from tracking.ingest import ingest_events


class RawJSONParser(BaseParser):
    """Hands the body through untouched: the view parses it to control limits and errors."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream


def read_events(request) -> list:
    """The `events` list of a request body, or an API error saying what is wrong with it."""
    body = read_body(request, settings.INGEST_MAX_BYTES)
    payload = parse_json_body(body)
    if not isinstance(payload, dict):
        raise exceptions.ParseError('Body must be a JSON object {"events": [...]}.')
    if "events" not in payload:
        raise exceptions.ParseError("'events' is required: a body is {\"events\": [...]}.")
    if not isinstance(payload["events"], list):
        kind = json_type(payload["events"])
        raise exceptions.ParseError(f"'events' must be a list of events, not {kind}.")
    events = payload["events"]
    if len(events) > settings.INGEST_MAX_EVENTS:
        raise PayloadTooLarge(
            f"{len(events)} events in one request; at most {settings.INGEST_MAX_EVENTS}."
        )
    return events


def json_type(value: object) -> str:
    """The JSON name of a parsed value's type, for messages: "an object", "a string"…"""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    names = {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)


def parse_json_body(body: bytes):
    """A request body as strict JSON nested at most `lib.text.MAX_JSON_DEPTH` deep, or a 400
    (ParseError) saying what is wrong: the one JSON parse of ingest and hooks."""
    try:
        return loads_bounded(body, name="body")
    except JSONDepthError as exc:
        raise exceptions.ParseError(str(exc)) from None
    except ValueError as exc:  # UnicodeDecodeError is one
        raise exceptions.ParseError(f"Malformed JSON: {exc}") from None


# A refused request's status as a rejection reason (docs/metrics.md).
REJECTION_BY_STATUS = {
    400: "bad_request",
    401: "auth",
    403: "auth",
    413: "too_large",
    415: "media_type",
    429: "rate_limited",
}


class IngestView(APIView):
    """An ingest endpoint: each request's answer time and each refused request are counted
    under `ingest_source` (`cairn_ingest_request_duration_seconds`, `..._rejections_total`)."""

    ingest_source = "api"

    def dispatch(self, request, *args, **kwargs):
        started = time.perf_counter()
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            elapsed = time.perf_counter() - started
            instruments.ingest_request_duration.labels(self.ingest_source).observe(elapsed)

    def handle_exception(self, exc):
        reason = REJECTION_BY_STATUS.get(getattr(exc, "status_code", 500), "other")
        instruments.count_rejection(self.ingest_source, reason)
        return super().handle_exception(exc)


class IngestInvocationsApi(IngestView):
    parser_classes = [RawJSONParser]
    permission_classes = [HasWriteKey]

    @extend_schema(
        summary="Ingest skill invocations",
        description="Each event is checked on its own: a bad one (not an object, a missing "
        "field, a value out of range) is reported in `errors` at its index, with `message` its "
        "first problem and `messages` every one, and the others are "
        f"stored. At most {settings.INGEST_MAX_EVENTS} events and {settings.INGEST_MAX_BYTES} "
        "bytes a request (413 over either).",
        request=inline_serializer(
            "IngestRequest",
            # Any JSON value per item: an event is validated one by one and a bad one answered
            # at its index (200), so the schema must not promise a 4xx for it.
            {"events": serializers.ListField(child=serializers.JSONField())},
        ),
        responses={
            200: inline_serializer(
                "IngestResult",
                {
                    "accepted": serializers.IntegerField(),
                    "duplicates": serializers.IntegerField(),
                    "errors": serializers.ListField(child=serializers.DictField()),
                },
            ),
            **errors(400, 401, 403, 413),
        },
        examples=[
            OpenApiExample(
                "One event",
                request_only=True,
                value={
                    "events": [
                        {
                            "id": "toolu_01",
                            "session": "s-1",
                            "skill": "pytest",
                            "invoked_at": "2026-11-25T10:00:00Z",
                            "completed": True,
                            "duration_s": 1.5,
                            "phase": "test",
                            "error_type": None,
                        }
                    ]
                },
            ),
            OpenApiExample(
                "An event with two problems",
                response_only=True,
                value={
                    "accepted": 0,
                    "duplicates": 0,
                    "errors": [
                        {
                            "index": 0,
                            "message": "'session' is required",
                            "messages": [
                                "'session' is required",
                                "'invoked_at' must be an ISO 8601 string",
                            ],
                        }
                    ],
                },
            ),
        ],
    )
    def post(self, request):
        events = read_events(request)
        result = ingest_events(request.user.project, events)
        return Response(result.as_dict())
