"""`POST /api/v1/checkpoints`: CI checkpoints from uploaded artefacts, write key only, limits."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.test import Client

from tests.fixtures import DATA
from tracking.models import Checkpoint, Session

URL = "/api/v1/checkpoints"


def key_client(key: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {key}"})


def upload(name: str, path: Path | None = None, content: bytes | None = None) -> io.BytesIO:
    if content is None:
        assert path is not None, "give a path or the content"
        content = path.read_bytes()
    f = io.BytesIO(content)
    f.name = name
    return f


@pytest.fixture
def write_api(write_key) -> Client:
    return key_client(write_key)


def test_it_records_a_ci_checkpoint_from_uploaded_artefacts(write_api, project):
    response = write_api.post(
        URL,
        {
            "commit": "abc123def456",
            "branch": "main",
            "junit": upload("report.xml", DATA / "junit/pytest/junit.gloo.standalone.xml"),
            "coverage": upload("coverage.xml", DATA / "coverage/labrea.coverage.xml"),
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    checkpoint = Checkpoint.objects.get(pk=body["checkpoint"])
    assert (checkpoint.project, checkpoint.kind, checkpoint.session) == (project, "ci", None)
    assert (checkpoint.commit, checkpoint.branch) == ("abc123def456", "main")
    m = body["measurements"]
    assert (m["tests.total"]["value"], m["tests.skipped"]["value"]) == (97, 17)
    assert m["tests.total"]["source"]["artefact"] == "junit/report.xml"
    assert round(m["coverage.line_percent"]["value"] / 100, 4) == 0.947
    assert m["lint.findings"] == {
        "value": None,
        "unit": "count",
        "reason": "not uploaded",
        "source": m["lint.findings"]["source"],
    }
    assert body["gates"]["verdict"] == "passed"
    assert body["score"] == checkpoint.score_total
    assert checkpoint.measurements.get(key="tests.total").value == 97


def test_it_keeps_a_broken_artefact_as_not_measured(write_api):
    response = write_api.post(URL, {"junit": upload("junit.xml", content=b"<testsuites><tes")})
    assert response.status_code == 201
    total = response.json()["measurements"]["tests.total"]
    assert total["value"] is None
    assert total["reason"].startswith("ParseError: ")


def test_it_measures_tests_created_within_a_session(write_api, project):
    first = DATA / "junit/pytest/junit.mpi.integration.xml"
    later = DATA / "junit/pytest/junit.spark.integration.1.xml"
    assert (
        write_api.post(URL, {"session": "ci-7", "junit": upload("a.xml", first)}).status_code == 201
    )
    response = write_api.post(URL, {"session": "ci-7", "junit": upload("b.xml", later)})
    session = Session.objects.get(project=project, external_id="ci-7")
    assert session.checkpoints.count() == 2
    created = response.json()["measurements"]["tests.created"]["value"]
    assert created == 35  # none of the 35 spark tests was in the 3 mpi tests


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "non_field_errors"),
        ({"commit": "not-a-sha", "junit": b"x"}, "commit"),
        ({"kind": "weekly", "junit": b"x"}, "kind"),
        ({"junit": "just text"}, "junit"),
    ],
)
def test_it_refuses_bad_input_with_a_clear_400(write_api, data, field):
    data = {k: upload("f.xml", content=v) if isinstance(v, bytes) else v for k, v in data.items()}
    response = write_api.post(URL, data)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and field in error["detail"]
    assert not Checkpoint.objects.exists()


def test_it_refuses_a_bad_gate_configuration(write_api, project):
    project.gate_config = [{"metric": "nope", "op": "<", "threshold": 1}]
    project.save()
    response = write_api.post(URL, {"junit": upload("j.xml", content=b"<testsuites/>")})
    assert response.status_code == 400
    assert response.json()["error"]["detail"] == {
        "gate_config": ["condition 0: unknown metric 'nope'"]
    }


def test_it_refuses_uploads_over_the_limit(write_api, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    response = write_api.post(URL, {"junit": upload("big.xml", content=b"<a/>" + b" " * 2000)})
    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "payload_too_large",
        "message": "Upload is larger than 1000 bytes.",
    }
    assert not Checkpoint.objects.exists()


def test_it_needs_a_write_key(client, read_key, owner_client, other_project):
    data = {"junit": upload("j.xml", content=b"<testsuites/>")}
    assert client.post(URL, data).status_code == 401
    assert key_client(read_key).post(URL, data).status_code == 403
    assert owner_client.post(URL, data).status_code == 403
    assert not Checkpoint.objects.exists()


def test_it_still_lists_and_refuses_other_methods(write_api, read_key):
    write_api.post(URL, {"junit": upload("j.xml", content=b"<testsuites/>")})
    listed = key_client(read_key).get(URL)
    assert listed.status_code == 200
    assert [c["kind"] for c in listed.json()["results"]] == ["ci"]
    assert write_api.put(URL, {}, "application/json").status_code == 405
    assert write_api.delete(URL).status_code == 405


def test_it_documents_the_upload_in_the_openapi_schema(client, db):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/checkpoints"]["post"]
    form = operation["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
    fields = schema["components"]["schemas"][form.rsplit("/", 1)[1]]["properties"]
    assert {"commit", "branch", "kind", "session", "coverage", "junit", "ruff", "bandit"} <= set(
        fields
    )
    assert {"201", "400", "413"} <= set(operation["responses"])
    assert "get" in schema["paths"]["/api/v1/checkpoints"]
