"""OpenAPI descriptions drf-spectacular cannot derive itself: the key scheme, the error shape."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "tracking.auth.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A project API key: `Authorization: Bearer cairn_…`. A key sees only "
            "its own project; a read-only key cannot write.",
        }


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable, e.g. not_found, parse_error.")
    message = serializers.CharField()
    detail = serializers.JSONField(required=False, help_text="Per-field reasons for bad input.")


class ErrorSerializer(serializers.Serializer):
    """The one error shape of the API (tracking.api.errors)."""

    error = ErrorBodySerializer()


ERROR_MEANINGS = {
    400: "Bad input: the reason is in `error.detail`.",
    401: "No credentials, or an unknown or revoked API key.",
    403: "A read-only key (or no write right) on a write.",
    404: "Not found, or in a project you may not see.",
    409: "The resource's state does not allow it now: the reason is in `error.message`.",
    413: "Too large: more events or bytes than the limits allow.",
    415: "A body in a media type the operation does not take.",
    429: "Too many failed API keys from this address: retry after `Retry-After` seconds.",
    503: "The database did not answer: retry after `Retry-After` seconds.",
}
# Answers any operation may give, whatever it does: the key check's throttle and an outage.
EVERY_OPERATION = (429, 503)


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """Documented error responses for `extend_schema(responses=...)`."""
    return {
        code: OpenApiResponse(ErrorSerializer, description=ERROR_MEANINGS[code]) for code in codes
    }


class RequiredBodySchema(AutoSchema):
    """An operation whose body is never optional, though no single field of it is required.

    drf-spectacular marks a body required only when one of its fields is; a form that needs
    "at least one artefact", or a hook's JSON input, is required all the same.
    """

    def _get_request_body(self, direction: str = "request") -> dict | None:
        body = super()._get_request_body(direction)
        if body is not None:
            body["required"] = True
        return body


def add_answers_of_every_operation(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook: the EVERY_OPERATION responses on each operation, so
    the schema describes every answer the API really sends (schemathesis holds it to that)."""
    error = {"$ref": "#/components/schemas/Error"}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code in EVERY_OPERATION:
                responses.setdefault(
                    str(code),
                    {
                        "description": ERROR_MEANINGS[code],
                        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                        "content": {"application/json": {"schema": error}},
                    },
                )
    return result


def without_trailing_slash_aliases(endpoints: list, **kwargs) -> list:
    """drf-spectacular preprocessing hook: each API path once, without its trailing-slash alias
    (config/urls.py answers both forms; the schema documents the canonical one)."""
    return [e for e in endpoints if not (e[0].startswith("/api/v1/") and e[0].endswith("/"))]
