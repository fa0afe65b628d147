"""The JSON body of a write request: size-checked, an object, validated by a serializer."""

from __future__ import annotations

from django.conf import settings
from rest_framework.exceptions import ParseError, UnsupportedMediaType

from tracking.api.limits import check_length, length_chunked_body


def validated_body(serializer_class, request) -> dict:
    """The body's validated fields: a JSON object, or nothing at all (every field's default)."""
    check_length(request, settings.INGEST_MAX_BYTES)
    length_chunked_body(request, settings.INGEST_MAX_BYTES)
    # DRF hands a body without a Content-Type through as empty data: refuse it instead.
    if not request.content_type and request.META["CONTENT_LENGTH"] != "0":
        raise UnsupportedMediaType("", detail="Send the body as application/json.")
    if not isinstance(request.data, dict):
        raise ParseError("Body must be a JSON object.")
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
