"""One size limit for request bodies, and the one 413 error the API answers with."""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from rest_framework import exceptions, status
from rest_framework.request import Request


class PayloadTooLarge(exceptions.APIException):
    """413: the body, an upload or a batch is larger than the endpoint accepts."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"


def check_length(request: Request, limit: int, what: str = "Body") -> None:
    """Refuse a request whose Content-Length says it is over `limit` bytes, before reading it."""
    length = request.META.get("CONTENT_LENGTH") or "0"
    if length.isdigit() and int(length) > limit:
        raise PayloadTooLarge(f"{what} is larger than {limit} bytes.")


def read_body(request: Request, limit: int) -> bytes:
    """The raw body, at most `limit` bytes, or `PayloadTooLarge`.

    A chunked body (Transfer-Encoding: chunked) has no Content-Length: its size is known only
    once read, so the length is checked again after reading.
    """
    check_length(request, limit)
    try:
        body = request._request.body
    except RequestDataTooBig:
        # Django's own DATA_UPLOAD_MAX_MEMORY_SIZE was hit first: the same answer.
        raise PayloadTooLarge(f"Body is larger than {limit} bytes.") from None
    if len(body) > limit:
        raise PayloadTooLarge(f"Body is larger than {limit} bytes.")
    return body
