"""OpenAPI descriptions drf-spectacular cannot derive itself (imported by tracking.api.urls)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension


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
