"""The OpenAPI schema: valid, warning-free, and describing the v1 resources."""

from __future__ import annotations

from django.contrib.staticfiles import finders
from django.core.management import call_command
from drf_spectacular.validation import validate_schema

PATHS = {
    "/api/v1/ingest/invocations": {"post"},
    "/api/v1/projects": {"get"},
    "/api/v1/projects/{slug}": {"get"},
    "/api/v1/projects/{slug}/skills": {"get"},
    "/api/v1/sessions": {"get"},
    "/api/v1/sessions/start": {"post"},
    "/api/v1/sessions/{id}": {"get"},
    "/api/v1/sessions/{id}/end": {"post"},
    "/api/v1/checkpoints/{id}": {"get"},
    "/api/v1/invocations": {"get"},
    "/api/v1/skills": {"get"},
}


def test_it_serves_a_valid_openapi_schema_with_the_v1_paths(client, db):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    for path, methods in PATHS.items():
        assert methods <= set(schema["paths"][path]), path
    assert "get" in schema["paths"]["/api/v1/checkpoints"]
    assert schema["components"]["securitySchemes"]["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["apiKey"]["description"],
    }
    invocations = schema["paths"]["/api/v1/invocations"]["get"]
    params = {p["name"] for p in invocations["parameters"]}
    assert {"cursor", "page_size", "session", "skill", "since", "until"} <= params
    start = schema["paths"]["/api/v1/sessions/start"]["post"]["responses"]
    # 413 over the body limit, 415 for a body that is not JSON: both are sent, so described.
    assert set(start) == {"200", "201", "400", "401", "403", "404", "413", "415", "429", "503"}
    error = start["404"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/Error"}
    paginated = schema["components"]["schemas"]["PaginatedInvocationList"]
    assert set(paginated["properties"]) == {"next", "results"}


def test_it_generates_the_schema_without_warnings(tmp_path):
    # --fail-on-warn raises on any view drf-spectacular cannot describe.
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml")
    )
    assert "/api/v1/sessions/start:" in (tmp_path / "schema.yml").read_text()


def test_it_serves_the_docs_page(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"/api/schema/" in response.content


def test_it_serves_the_docs_script_itself(client, db):
    page = client.get("/api/docs/").content.decode()
    assert "cdn." not in page
    assert "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in page
    assert finders.find("drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js")


def test_it_serves_the_docs_page_without_web_fonts(client, db):
    page = client.get("/api/docs/").content.decode()
    assert "googleapis" not in page and "gstatic" not in page
    assert "<title>Cairn API</title>" in page
    assert '<redoc spec-url="/api/schema/"></redoc>' in page
