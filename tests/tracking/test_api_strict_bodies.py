"""Bodies the API must refuse in its error shape: found by schemathesis (hardening issue)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tests.fixtures import DATA
from tests.tracking.conftest import chunked_post
from tracking.models import Checkpoint, Session

GARBAGE_MULTIPART = b"not multipart at all: no boundary, no part, nothing to read"


def session(project) -> Session:
    return Session.objects.create(
        project=project, external_id="s1", started_at=datetime(2026, 11, 20, 10, tzinfo=UTC)
    )


def test_a_garbage_multipart_body_does_not_end_a_session(write_api, project):
    s = session(project)
    response = write_api.generic(
        "POST", f"/api/v1/sessions/{s.pk}/end", GARBAGE_MULTIPART,
        content_type="multipart/form-data; boundary=xx",
    )  # fmt: skip
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"] == {
        "code": "parse_error",
        "message": "Malformed multipart body: no field or file in it could be read.",
    }
    s.refresh_from_db()
    assert (s.status, s.ended_at) == ("active", None)


def test_a_multipart_form_still_ends_a_session_with_its_fields(write_api, project):
    s = session(project)
    response = write_api.post(f"/api/v1/sessions/{s.pk}/end", {"end_commit": "abc123"})
    assert response.status_code == 200
    assert response.json()["end_commit"] == "abc123"


def test_a_urlencoded_body_does_not_end_a_session(write_api, project):
    s = session(project)
    response = write_api.generic(
        "POST", f"/api/v1/sessions/{s.pk}/end", b"garbage", "application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    s.refresh_from_db()
    assert s.status == "active"


def test_a_body_without_a_content_type_does_not_end_a_session(write_api, project):
    s = session(project)
    response = write_api.generic("POST", f"/api/v1/sessions/{s.pk}/end", b"garbage", "")
    assert response.status_code == 415
    assert response.json()["error"]["message"] == "Send the body as application/json."
    s.refresh_from_db()
    assert s.status == "active"


def test_a_non_json_body_does_not_end_a_session(write_api, project):
    s = session(project)
    response = write_api.generic(
        "POST", f"/api/v1/sessions/{s.pk}/end", b"end_commit=abc", "application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    s.refresh_from_db()
    assert s.status == "active"


def test_an_empty_body_still_ends_a_session_now(write_api, project):
    s = session(project)
    response = write_api.generic("POST", f"/api/v1/sessions/{s.pk}/end", b"", "")
    assert response.status_code == 200
    assert response.json()["status"] == "ended"


def test_a_urlencoded_body_does_not_start_a_session(write_api, project):
    response = write_api.generic(
        "POST", "/api/v1/sessions/start", b"external_id=s2", "application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert not Session.objects.exists()


def test_malformed_multipart_is_a_400_in_the_error_shape(write_api, project):
    response = write_api.generic(
        "POST", "/api/v1/checkpoints", b"garbage", content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == "parse_error"
    assert "multipart" in error["message"].lower()
    assert not Checkpoint.objects.exists()


def test_too_many_files_is_a_400_in_the_error_shape(write_api, project):
    parts = b"".join(
        multipart(f"f{i}", f"a{i}.json", b"[]")[: -len("--xx--\r\n")] for i in range(101)
    )
    response = write_api.generic(
        "POST", "/api/v1/checkpoints", parts + b"--xx--\r\n", "multipart/form-data; boundary=xx"
    )
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"]["message"] == "Malformed multipart body: more than 100 files."
    assert not Checkpoint.objects.exists()


def test_an_over_limit_form_field_is_a_413_in_the_error_shape(write_api, project, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = (
        b'--xx\r\nContent-Disposition: form-data; name="branch"\r\n\r\n'
        + b"x" * 2000
        + b"\r\n--xx--\r\n"
    )
    response = write_api.generic(
        "POST", "/api/v1/checkpoints", body, "multipart/form-data; boundary=xx"
    )
    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "payload_too_large",
        "message": "Form fields are larger than 1000 bytes.",
    }


def test_a_checkpoint_without_gates_has_a_null_verdict(write_api, project):
    Checkpoint.objects.create(project=project, kind="ci")
    (row,) = write_api.get("/api/v1/checkpoints").json()["results"]
    assert row["gate_verdict"] is None
    assert write_api.get(f"/api/v1/checkpoints/{row['id']}").json()["gate_verdict"] is None


def test_an_empty_filter_is_refused_naming_it(write_api, project):
    response = write_api.get("/api/v1/invocations", {"skill": ""})
    assert response.status_code == 400
    assert response.json()["error"]["detail"] == {
        "skill": ["Must not be empty: give a value or leave the parameter out."]
    }
    assert write_api.get("/api/v1/skills", {"window": ""}).status_code == 400
    assert write_api.get("/api/v1/sessions", {"status": ""}).status_code == 400


def multipart(name: str, filename: str, content: bytes, boundary: str = "xx") -> bytes:
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"'
        "\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    return head.encode() + content + f"\r\n--{boundary}--\r\n".encode()


# The ASGI handler runs the view in another thread: it must see committed rows.
@pytest.mark.django_db(transaction=True)
def test_a_chunked_upload_under_the_limit_is_recorded(project, write_key):
    report = (DATA / "junit/pytest/junit.gloo.standalone.xml").read_bytes()
    response = chunked_post(
        "/api/v1/checkpoints", write_key, multipart("junit", "junit.xml", report),
        "multipart/form-data; boundary=xx",
    )  # fmt: skip
    assert response["status"] == 201, response["body"][:500]
    tests = json.loads(response["body"])["measurements"]["tests.total"]
    assert (tests["value"], tests["source"]["artefact"]) == (97, "junit/junit.xml")
    assert Checkpoint.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_chunked_json_body_starts_a_session(project, write_key):
    body = json.dumps({"external_id": "chunked", "branch": "main"}).encode()
    response = chunked_post("/api/v1/sessions/start", write_key, body)
    assert response["status"] == 201, response["body"]
    assert Session.objects.get().branch == "main"


@pytest.mark.django_db(transaction=True)
def test_an_over_limit_chunked_upload_is_a_413_naming_the_limit(project, write_key, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    boundary = "xx"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="ruff"; filename="ruff.json"'
        f"\r\nContent-Type: application/json\r\n\r\n{json.dumps([{'x': 'y' * 2000}])}\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    response = chunked_post(
        "/api/v1/checkpoints", write_key, body, f"multipart/form-data; boundary={boundary}"
    )
    assert response["status"] == 413
    assert json.loads(response["body"])["error"] == {
        "code": "payload_too_large",
        "message": "Upload is larger than 1000 bytes.",
    }
    assert not Checkpoint.objects.exists()
