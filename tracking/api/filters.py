"""The query-string filters of the list operations."""

from __future__ import annotations

from collections.abc import Mapping

from rest_framework import serializers

BLANK = "Must not be empty: give a value or leave the parameter out."


class QueryFilterSerializer(serializers.Serializer):
    """Filters from a query string, where an empty value is refused rather than ignored.

    DRF reads `?skill=` from a form-like QueryDict as "not given", so a caller who sent an empty
    filter would get everything back unfiltered; the schema says a filter has a value.
    """

    def to_internal_value(self, data: Mapping) -> dict:
        blank = {name: [BLANK] for name, _ in self.fields.items() if data.get(name, None) == ""}
        if blank:
            raise serializers.ValidationError(blank)
        return super().to_internal_value(data)
