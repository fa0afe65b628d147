"""One size limit for request bodies, and the one 413 error the API answers with."""

from __future__ import annotations

import tempfile
from typing import BinaryIO, cast

from django.conf import settings
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


def length_chunked_body(request: Request, limit: int, what: str = "Body") -> None:
    """Give a body sent without Content-Length (chunked) its length, or `PayloadTooLarge`.

    DRF, and Django's multipart parser, take a body without Content-Length for an empty one: a
    chunked upload would be parsed as no fields and no files. The body is copied to a spooled
    file (memory up to FILE_UPLOAD_MAX_MEMORY_SIZE, then disk), reading at most `limit` + 1
    bytes, and handed to the parsers with the length it turned out to have.
    """
    if request.META.get("CONTENT_LENGTH"):
        return
    # Not a `with`: the file outlives this call as the request's stream.
    spool = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE)  # noqa: SIM115
    size = 0
    while chunk := request._request.read(64 * 1024):
        size += len(chunk)
        if size > limit:
            spool.close()
            raise PayloadTooLarge(f"{what} is larger than {limit} bytes.")
        spool.write(chunk)
    spool.seek(0)
    request.META["CONTENT_LENGTH"] = str(size)
    # The Django request reads on from the copy as if nothing had been read: DRF's parsers take
    # its stream (multipart) or its `body` (JSON).
    django_request = request._request
    django_request._stream = cast("BinaryIO", spool)
    django_request._read_started = False  # type: ignore[attr-defined]  # not in the stubs


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
