"""The experiments API: creating in draft, start and stop, reads, assignment; bad bodies are
400s naming the field, a read key cannot write, another project's experiments are not seen."""

from __future__ import annotations

import copy

import pytest

from analytics.experiments.assignment import hash_v2
from analytics.models import Experiment, Exposure
from tests.analytics.experiment_data import DESIGN, EXPERIMENTS, get, post, running_experiment

pytestmark = pytest.mark.django_db


def design(**changes) -> dict:
    body = copy.deepcopy(DESIGN)
    body.update(changes)
    return body


def test_it_creates_a_draft_and_moves_it_to_running_then_stopped(client, write_key, read_key):
    created = post(client, write_key, EXPERIMENTS, DESIGN)
    assert created.status_code == 201
    body = created.json()
    assert (body["project"], body["key"], body["status"]) == ("alpha", "tests-first", "draft")
    assert body["started_at"] is None and body["planned_units"] == 400
    assert body["assignment_rule"] == (
        "hash = fnv1a32(str(fnv1a32('tests-first' + unit))) mod 10000 / 10000 (GrowthBook "
        "hash v2); control [0.0000, 0.5000), tests-first [0.5000, 1.0000)"
    )
    # A draft assigns no one.
    answer = get(client, read_key, f"{EXPERIMENTS}/tests-first/assignment", unit="u1")
    assert answer.status_code == 400
    assert answer.json()["error"]["detail"] == {"status": ["The experiment is draft."]}

    started = post(client, write_key, f"{EXPERIMENTS}/tests-first/start")
    assert started.status_code == 200 and started.json()["status"] == "running"
    again = post(client, write_key, f"{EXPERIMENTS}/tests-first/start")
    assert again.status_code == 400
    assert again.json()["error"]["detail"] == {
        "status": ["only a draft can start; this one is running"]
    }
    stopped = post(client, write_key, f"{EXPERIMENTS}/tests-first/stop")
    assert stopped.status_code == 200 and stopped.json()["stopped_at"] is not None
    assert post(client, write_key, f"{EXPERIMENTS}/tests-first/start").status_code == 400
    assert post(client, write_key, f"{EXPERIMENTS}/tests-first/stop").status_code == 400
    answer = get(client, read_key, f"{EXPERIMENTS}/tests-first/assignment", unit="u1")
    assert answer.json()["error"]["detail"] == {"status": ["The experiment is stopped."]}
    assert not Exposure.objects.exists()


def test_it_lists_and_shows_with_a_read_key_and_hides_other_projects(
    client, write_key, read_key, other_project
):
    post(client, write_key, EXPERIMENTS, DESIGN)
    other_key = other_project.create_api_key(scope="write")[1]
    post(client, other_key, EXPERIMENTS, design(key="elsewhere"))
    listed = get(client, read_key, EXPERIMENTS)
    assert [e["key"] for e in listed.json()] == ["tests-first"]
    assert get(client, read_key, f"{EXPERIMENTS}/tests-first").json()["name"] == DESIGN["name"]
    assert get(client, read_key, f"{EXPERIMENTS}/elsewhere").status_code == 404
    assert get(client, read_key, f"{EXPERIMENTS}/elsewhere/results").status_code == 404
    assert get(client, read_key, EXPERIMENTS, status="running").json() == []


def test_a_read_key_cannot_write(client, read_key, write_key):
    refused = post(client, read_key, EXPERIMENTS, DESIGN)
    assert refused.status_code == 403
    assert not Experiment.objects.exists()
    post(client, write_key, EXPERIMENTS, DESIGN)
    assert post(client, read_key, f"{EXPERIMENTS}/tests-first/start").status_code == 403
    assert Experiment.objects.get().status == "draft"
    running_experiment(client, write_key, design(key="second"))
    assert post(client, read_key, f"{EXPERIMENTS}/second/stop").status_code == 403
    assert Experiment.objects.get(key="second").status == "running"


def test_without_a_key_nothing_is_answered(client, write_key):
    post(client, write_key, EXPERIMENTS, DESIGN)
    assert client.get(EXPERIMENTS).status_code == 401
    assert client.get(f"{EXPERIMENTS}/tests-first/results").status_code == 401


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"key": "not a slug"}, "key"),
        ({"key": ""}, "key"),
        ({"name": 7}, "name"),
        ({"name": "nul\x00"}, "name"),
        ({"unit": "team"}, "unit"),
        ({"arms": [{"key": "only", "weight": 1}]}, "arms"),
        ({"arms": [{"key": "a", "weight": 0.5}, {"key": "a", "weight": 0.5}]}, "arms"),
        ({"arms": [{"key": "a", "weight": 0.7}, {"key": "b", "weight": 0.7}]}, "arms"),
        ({"arms": [{"key": "a", "weight": 0}, {"key": "b", "weight": 1}]}, "arms"),
        ({"arms": [{"key": "a", "weight": "half"}, {"key": "b", "weight": 0.5}]}, "arms"),
        (
            {"arms": [{"key": "a", "weight": 0.5, "context": 3}, {"key": "b", "weight": 0.5}]},
            "arms",
        ),
        ({"arms": "control"}, "arms"),
        ({"metrics": []}, "metrics"),
        ({"metrics": ["happiness"]}, "metrics"),
        ({"guardrail_metrics": ["completion_rate"]}, "guardrail_metrics"),
        ({"planned_units": -1}, "planned_units"),
        ({"planned_units": "many"}, "planned_units"),
    ],
)
def test_a_bad_body_is_a_400_naming_the_field(client, write_key, changes, field):
    response = post(client, write_key, EXPERIMENTS, design(**changes))
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["detail"]
    assert not Experiment.objects.exists()


def test_a_missing_field_and_a_non_object_body_are_400s(client, write_key):
    body = design()
    del body["arms"]
    response = post(client, write_key, EXPERIMENTS, body)
    assert response.status_code == 400
    assert "arms" in response.json()["error"]["detail"]
    assert post(client, write_key, EXPERIMENTS, [DESIGN]).status_code == 400
    response = client.post(
        EXPERIMENTS,
        "{bad",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {write_key}",
    )
    assert response.status_code == 400
    assert not Experiment.objects.exists()


def test_a_key_taken_in_the_project_is_refused_naming_key(client, write_key):
    assert post(client, write_key, EXPERIMENTS, DESIGN).status_code == 201
    response = post(client, write_key, EXPERIMENTS, design(name="Again"))
    assert response.status_code == 400
    assert response.json()["error"]["detail"] == {"key": ["Project alpha has this key already."]}
    assert Experiment.objects.get().name == DESIGN["name"]


def test_assignment_is_the_hash_and_keeps_the_first_exposure(client, write_key, read_key):
    running_experiment(client, write_key)
    url = f"{EXPERIMENTS}/tests-first/assignment"
    first = get(client, read_key, url, unit="user-42").json()
    value = hash_v2("tests-first", "user-42")
    assert first["hash"] == value
    assert first["arm"] == ("control" if value < 0.5 else "tests-first")
    second = get(client, read_key, url, unit="user-42").json()
    assert second == first
    assert (
        Exposure.objects.get().first_exposed_at.isoformat().replace("+00:00", "Z")
        == (first["first_exposed_at"])
    )
    assert get(client, read_key, url).status_code == 400
    response = get(client, read_key, url, unit="")
    assert "unit" in response.json()["error"]["detail"]
    assert get(client, read_key, url, unit="x" * 201).status_code == 400
    assert Exposure.objects.count() == 1


def test_assignment_of_known_units_follows_the_growthbook_vectors(client, write_key, read_key):
    # AB-7: hash_v2("seed", "a") = 0.0505 and ("seed", "b") = 0.2696; with a 20/80 split the
    # control's range is [0, 0.2), so "a" is in the control and "b" in the treatment.
    body = design(
        key="seed",
        arms=[{"key": "c", "weight": 0.2, "context": ""}, {"key": "t", "weight": 0.8}],
    )
    running_experiment(client, write_key, body)
    url = f"{EXPERIMENTS}/seed/assignment"
    a = get(client, read_key, url, unit="a").json()
    b = get(client, read_key, url, unit="b").json()
    assert (a["hash"], a["arm"], a["context"]) == (0.0505, "c", "")
    assert (b["hash"], b["arm"]) == (0.2696, "t")


def test_a_bad_project_parameter_is_a_400_naming_it(client, write_key, read_key):
    running_experiment(client, write_key)
    for value in ("", "not a slug", "nul\x00"):
        response = get(client, read_key, f"{EXPERIMENTS}/tests-first/results", project=value)
        assert response.status_code == 400
        assert "project" in response.json()["error"]["detail"]
    response = get(client, read_key, f"{EXPERIMENTS}/tests-first", project="alpha")
    assert response.status_code == 200
    assert get(client, read_key, f"{EXPERIMENTS}/tests-first", project="beta").status_code == 404
