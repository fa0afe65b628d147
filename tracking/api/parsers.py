"""Request-body parsers that refuse what Django's own would quietly read as nothing."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from rest_framework.exceptions import ParseError
from rest_framework.parsers import DataAndFiles, MultiPartParser

from tracking.api.limits import PayloadTooLarge


def empty_form_length(media_type: str) -> int:
    """The most bytes a multipart body with no part takes: `--boundary--` between line ends."""
    boundary = media_type.partition("boundary=")[2].split(";")[0].strip().strip('"')
    return len(boundary) + len("\r\n----\r\n")


class StrictMultiPartParser(MultiPartParser):
    """Multipart that is a 400 when its bytes hold no part Django could read.

    Django's parser skips what it cannot make sense of, so a garbage body became an empty form:
    `POST /sessions/{id}/end` then ended the session with every default. An empty form (the
    closing boundary alone) is still an empty form. Django's own limits on a form are raised as
    SuspiciousOperation, which DRF leaves to Django's HTML 400 page: they are answered here in
    the API's error shape.
    """

    def parse(self, stream, media_type=None, parser_context=None) -> DataAndFiles:
        try:
            result = super().parse(stream, media_type, parser_context)
        except TooManyFilesSent:
            limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
            raise ParseError(f"Malformed multipart body: more than {limit} files.") from None
        except TooManyFieldsSent:
            limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
            raise ParseError(f"Malformed multipart body: more than {limit} fields.") from None
        except RequestDataTooBig:
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            raise PayloadTooLarge(f"Form fields are larger than {limit} bytes.") from None
        request = (parser_context or {})["request"]
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if not result.data and not result.files and length > empty_form_length(media_type or ""):
            raise ParseError("Malformed multipart body: no field or file in it could be read.")
        return result
