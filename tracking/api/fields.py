"""Serializer fields shared by the API's resources."""

from __future__ import annotations

from datetime import datetime

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from lib.text import check_text
from tracking.ingest import parse_timestamp


# The pattern says what it can of lib.ranges: a zone within ±15:59 (Postgres' limit), and a
# year from 2000 to 9998.
@extend_schema_field(
    {
        "type": "string",
        "format": "date-time",
        "pattern": (
            r"^(?:[2-8]\d{3}|9[0-8]\d{2}|99[0-8]\d|999[0-8])-.*"
            r"(?:Z|z|[+-](?:0\d|1[0-5]):[0-5]\d)$"
        ),
    }
)
class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with a time zone, inside `lib.ranges`' range; a naive time is refused rather
    than guessed, as in ingest (the same `parse_timestamp`). `happened=True` for the time of
    something that happened (a session's start or end): at most `lib.ranges.MAX_FUTURE_SKEW`
    ahead of the server's clock; filters leave it False."""

    def __init__(self, *, happened: bool = False, **kwargs) -> None:
        self.happened = happened
        super().__init__(**kwargs)

    def to_internal_value(self, value) -> datetime:
        try:
            return parse_timestamp(value, self.field_name or "value", happened=self.happened)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None


class TextField(serializers.CharField):
    """A CharField that takes only a string (1 is not "1") that can be stored: no NUL, no lone
    surrogate (`lib.text.check_text`, as in ingest and hooks). The text fields clients write
    or filter by are these."""

    def to_internal_value(self, data) -> str:
        try:
            check_text(data, self.field_name or "value")
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return super().to_internal_value(data)
