"""Experiments in the admin: editable, validated like the API, the assignment rule shown, and
the status moved only by the start and stop actions."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client

from analytics.models import Experiment, Exposure

pytestmark = pytest.mark.django_db
ADD = "/admin/analytics/experiment/add/"


@pytest.fixture
def admin_client() -> Client:
    user = User.objects.create_superuser("root", "root@example.org", "pw")
    client = Client()
    client.force_login(user)
    return client


def form(project, arms) -> dict:
    return {
        "project": project.pk,
        "key": "rule",
        "name": "Rule",
        "hypothesis": "",
        "unit": "session",
        "arms": json.dumps(arms),
        "metrics": json.dumps(["completion_rate"]),
        "guardrail_metrics": json.dumps([]),
        "planned_units": "",
    }


def test_a_design_with_bad_weights_is_refused_and_a_good_one_saved(admin_client, project):
    bad = [{"key": "a", "weight": 0.6}, {"key": "b", "weight": 0.6}]
    response = admin_client.post(ADD, form(project, bad))
    assert response.status_code == 200
    assert "the weights must sum to 1 (they sum to 1.2)" in response.content.decode()
    assert not Experiment.objects.exists()
    good = [{"key": "a", "weight": 0.25, "context": ""}, {"key": "b", "weight": 0.75}]
    response = admin_client.post(ADD, form(project, good))
    assert response.status_code == 302
    experiment = Experiment.objects.get()
    assert experiment.status == "draft"
    page = admin_client.get(f"/admin/analytics/experiment/{experiment.pk}/change/")
    assert "a [0.0000, 0.2500), b [0.2500, 1.0000)" in page.content.decode()


def test_the_actions_start_and_stop_and_refuse_other_transitions(admin_client, project):
    arms = [{"key": "a", "weight": 0.5}, {"key": "b", "weight": 0.5}]
    admin_client.post(ADD, form(project, arms))
    experiment = Experiment.objects.get()
    changelist = "/admin/analytics/experiment/"

    def act(action: str):
        return admin_client.post(
            changelist, {"action": action, "_selected_action": [experiment.pk]}, follow=True
        )

    act("stop_experiments")
    experiment.refresh_from_db()
    assert experiment.status == "draft"
    act("start_experiments")
    experiment.refresh_from_db()
    assert experiment.status == "running" and experiment.started_at is not None
    text = act("start_experiments").content.decode()
    assert "only a draft can start; this one is running" in text
    act("stop_experiments")
    experiment.refresh_from_db()
    assert experiment.status == "stopped"


def test_exposures_are_listed_in_the_admin(admin_client, project):
    experiment = Experiment.objects.create(
        project=project, key="k", name="K", arms=[{"key": "a", "weight": 1.0}], metrics=[]
    )
    Exposure.objects.create(
        experiment=experiment, unit_id="unit-7", arm="a", first_exposed_at=experiment.created_at
    )
    page = admin_client.get("/admin/analytics/exposure/")
    assert page.status_code == 200 and "unit-7" in page.content.decode()


def test_a_started_experiments_design_is_read_only(admin_client, project):
    arms = [{"key": "a", "weight": 0.5}, {"key": "b", "weight": 0.5}]
    admin_client.post(ADD, form(project, arms))
    experiment = Experiment.objects.get()
    experiment.start()
    changed = form(project, [{"key": "a", "weight": 0.9}, {"key": "b", "weight": 0.1}])
    changed["name"] = "Renamed"
    response = admin_client.post(f"/admin/analytics/experiment/{experiment.pk}/change/", changed)
    assert response.status_code == 302
    experiment.refresh_from_db()
    assert experiment.name == "Renamed"
    assert [arm["weight"] for arm in experiment.arms] == [0.5, 0.5]
