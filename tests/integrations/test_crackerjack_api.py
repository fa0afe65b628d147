"""`POST /api/v1/crackerjack/runs`: a run, idempotent on its run_id, checked field by field."""

from __future__ import annotations

import json

import pytest

from integrations.crackerjack.models import CrackerjackRun
from tests.fixtures import CRACKERJACK
from tracking.models import Checkpoint, Measurement, SkillInvocation

pytestmark = pytest.mark.django_db
URL = "/api/v1/crackerjack/runs"


def body() -> dict:
    return json.loads((CRACKERJACK / "api_run.json").read_text())


def post(client, key, data):
    raw = data if isinstance(data, bytes) else json.dumps(data)
    return client.post(
        URL, raw, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )


def test_a_run_is_stored_once(api, project, write_key):
    first = post(api, write_key, body())
    assert first.status_code == 201
    assert first.json()["invocations"] == 3 and first.json()["created"] is True
    again = post(api, write_key, body())
    assert again.status_code == 200 and again.json() == {
        **first.json(),
        "created": False,
        "invocations": 0,
    }
    assert SkillInvocation.objects.filter(project=project).count() == 3
    assert Checkpoint.objects.filter(project=project).count() == 1
    check = SkillInvocation.objects.get(skill="ruff-check")
    assert (check.error_type, check.duration_s, check.phase) == ("issues:4", 2.5, "setup")
    coverage = Measurement.objects.get(key="coverage.line_percent")
    assert coverage.value == 91.25 and coverage.tool == "crackerjack"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.pop("run_id"), "run_id"),
        (lambda b: b.update(run_id="a b/../c"), "run_id"),
        (lambda b: b.update(phases=[]), "phases"),
        (lambda b: b["phases"][0].update(phase="slow_hooks"), "phases"),
        (lambda b: b["phases"][0]["hooks"][1].update(duration=-1), "phases"),
        (lambda b: b["phases"][0]["hooks"][1].update(issues_count="3"), "phases"),
        (lambda b: b["quality_gate"].update(coverage=250), "quality_gate"),
        (lambda b: b.update(started_at="2026-11-27 08:00"), "started_at"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(api, write_key, change, field):
    data = body()
    change(data)
    response = post(api, write_key, data)
    assert response.status_code == 400
    assert field in response.json()["error"]["detail"]
    assert not CrackerjackRun.objects.exists() and not SkillInvocation.objects.exists()


def test_the_nested_field_is_named_down_to_the_hook(api, write_key):
    data = body()
    data["phases"][0]["hooks"][1]["duration"] = -1
    detail = post(api, write_key, data).json()["error"]["detail"]
    assert "duration" in detail["phases"]["0"]["hooks"]["1"]


def test_a_read_key_or_no_key_is_refused(api, read_key):
    assert post(api, read_key, body()).status_code == 403
    assert api.post(URL, json.dumps(body()), content_type="application/json").status_code == 401


def test_the_same_run_id_in_two_projects_is_two_runs(api, write_key, other_project):
    other_key = other_project.create_api_key()[1]
    assert post(api, write_key, body()).status_code == 201
    assert post(api, other_key, body()).status_code == 201
    assert CrackerjackRun.objects.count() == 2


def test_malformed_json_is_a_400(api, write_key):
    assert post(api, write_key, b'{"run_id": ').status_code == 400
