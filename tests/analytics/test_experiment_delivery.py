"""Delivery to Claude Code: a SessionStart hook answers with the arm's context while a
session-unit experiment runs, and records the exposure; every other hook, and SessionStart
without such an experiment, still answers 204 with an empty body."""

from __future__ import annotations

import copy

import pytest

from analytics.experiments.assignment import hash_v2
from analytics.models import Experiment, Exposure
from tests.analytics.experiment_data import DESIGN, HOOKS, post, running_experiment, session_start

pytestmark = pytest.mark.django_db


def test_without_a_running_experiment_session_start_answers_204(client, write_key):
    response = session_start(client, write_key, "s-1")
    assert response.status_code == 204 and response.content == b""
    post(client, write_key, "/api/v1/experiments", DESIGN)  # a draft assigns no one
    response = session_start(client, write_key, "s-2")
    assert response.status_code == 204 and response.content == b""
    assert not Exposure.objects.exists()


def test_session_start_gets_the_arms_context_as_claude_code_documents(client, write_key):
    running_experiment(client, write_key)
    # Two sessions whose hashes fall in each arm (computed by the GrowthBook rule).
    treated = next(f"s-{i}" for i in range(100) if hash_v2("tests-first", f"s-{i}") >= 0.5)
    control = next(f"s-{i}" for i in range(100) if hash_v2("tests-first", f"s-{i}") < 0.5)
    response = session_start(client, write_key, treated)
    assert response.status_code == 200
    assert response.json() == {
        "hookSpecificOutput": {
            "hookEventName": "SessionStart",
            "additionalContext": "Write the failing test first.",
        }
    }
    response = session_start(client, write_key, control)
    assert response.json()["hookSpecificOutput"]["additionalContext"] == ""
    exposures = dict(Exposure.objects.values_list("unit_id", "arm"))
    assert exposures == {treated: "tests-first", control: "control"}


def test_other_hooks_still_answer_204_during_an_experiment(client, write_key):
    running_experiment(client, write_key)
    session_start(client, write_key, "s-1")
    for event in ("UserPromptSubmit", "Stop", "SessionEnd"):
        payload = {"session_id": "s-1", "hook_event_name": event}
        response = post(client, write_key, HOOKS, payload)
        assert response.status_code == 204 and response.content == b""
    assert Exposure.objects.count() == 1


def test_a_user_unit_or_stopped_experiment_is_not_delivered_by_the_hook(client, write_key):
    user_design = copy.deepcopy(DESIGN)
    user_design.update(key="per-user", unit="user")
    running_experiment(client, write_key, user_design)
    assert session_start(client, write_key, "s-1").status_code == 204
    running_experiment(client, write_key)
    post(client, write_key, "/api/v1/experiments/tests-first/stop")
    assert session_start(client, write_key, "s-2").status_code == 204
    assert not Exposure.objects.exists()
    assert Experiment.objects.filter(status="stopped").count() == 1


def test_a_bad_session_start_is_a_400_and_records_no_exposure(client, write_key):
    running_experiment(client, write_key)
    response = post(client, write_key, HOOKS, {"hook_event_name": "SessionStart"})
    assert response.status_code == 400
    assert not Exposure.objects.exists()
