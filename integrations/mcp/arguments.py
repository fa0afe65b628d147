"""A tool's arguments: their JSON Schema (from the DRF serializer) and their validation.

The schema tells the model what to send; the serializer decides what is accepted, so the two
cannot disagree on anything the schema states. Errors name the field, as the REST API's do.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import APIException, ValidationError

from integrations.mcp.registry import ToolRefused, ToolSpec


def _field_schema(field: serializers.Field) -> dict[str, Any]:
    schema: dict[str, Any]
    if isinstance(field, serializers.ChoiceField):
        schema = {"type": "string", "enum": list(field.choices)}
    elif isinstance(field, serializers.BooleanField):
        schema = {"type": "boolean"}
    elif isinstance(field, serializers.IntegerField):
        schema = {"type": "integer"}
        if field.min_value is not None:
            schema["minimum"] = field.min_value
        if field.max_value is not None:
            schema["maximum"] = field.max_value
    elif isinstance(field, serializers.FloatField):
        schema = {"type": "number"}
    elif isinstance(field, serializers.DateTimeField):
        schema = {"type": "string", "format": "date-time"}
    else:
        schema = {"type": "string"}
        if isinstance(field, serializers.CharField):
            if field.max_length is not None:
                schema["maxLength"] = field.max_length
            if field.min_length is not None:
                schema["minLength"] = field.min_length
    if field.help_text:
        schema["description"] = str(field.help_text)
    if field.default is not serializers.empty and not callable(field.default):
        schema["default"] = field.default
    return schema


def input_schema(spec: ToolSpec) -> dict[str, Any]:
    """The JSON Schema of a tool's arguments object."""
    fields = spec.arguments().fields
    return {
        "type": "object",
        "properties": {name: _field_schema(f) for name, f in fields.items()},
        "required": [name for name, f in fields.items() if f.required],
        "additionalProperties": False,
    }


def reason(exc: APIException) -> str:
    """A REST error's detail as one line naming each field: `days: Ensure this value…`."""
    detail = exc.detail
    if isinstance(detail, dict):
        parts = []
        for name, messages in detail.items():
            text = (
                "; ".join(str(m) for m in messages) if isinstance(messages, list) else str(messages)
            )
            parts.append(text if name == "non_field_errors" else f"{name}: {text}")
        return " ".join(parts)
    if isinstance(detail, list):
        return "; ".join(str(m) for m in detail)
    return str(detail)


def validated(spec: ToolSpec, arguments: dict[str, Any] | None) -> dict[str, Any]:
    """The arguments `spec.run` gets, or ToolRefused naming the bad field.

    An argument the tool does not take is refused: a misspelt filter must not be dropped and
    answered unfiltered.
    """
    given = dict(arguments or {})
    serializer = spec.arguments(data=given)
    unknown = sorted(set(given) - set(serializer.fields))
    if unknown:
        raise ToolRefused(f"{', '.join(unknown)}: not an argument of {spec.name}.")
    if not spec.prevalidate:
        # The body function validates the values; a tool reads its required ones first.
        missing = [
            name for name, f in serializer.fields.items() if f.required and name not in given
        ]
        if missing:
            raise ToolRefused(" ".join(f"{name}: This field is required." for name in missing))
        return given
    try:
        serializer.is_valid(raise_exception=True)
    except ValidationError as exc:
        raise ToolRefused(reason(exc)) from None
    return dict(serializer.validated_data)
