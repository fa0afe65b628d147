"""Serializer fields shared by the API's resources."""

from __future__ import annotations

from datetime import datetime

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tracking.ingest import parse_timestamp


@extend_schema_field({"type": "string", "format": "date-time"})
class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with a time zone, inside `lib.ranges`' range; a naive time is refused rather
    than guessed, as in ingest (the same `parse_timestamp`)."""

    def to_internal_value(self, value) -> datetime:
        try:
            return parse_timestamp(value, self.field_name or "value")
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None
