"""GET /api/v1/predictor, POST /api/v1/predictor/predict and the calibration-chart fragment."""

from __future__ import annotations

import json

import pytest
from django.template.loader import render_to_string

from analytics.predictor import store
from analytics.predictor.training import train
from tests.analytics.predictor_data import store_sessions
from tests.analytics.test_predictor_training import NOISE, SIGNAL


@pytest.fixture
def auth(read_key):
    return {"HTTP_AUTHORIZATION": f"Bearer {read_key}"}


def predict(client, auth, body):
    return client.post(
        "/api/v1/predictor/predict", json.dumps(body), content_type="application/json", **auth
    )


def test_without_a_model_the_predictor_says_why(project, client, auth):
    answer = client.get("/api/v1/predictor", {"project": "alpha"}, **auth)
    assert answer.status_code == 200
    assert answer.json() == {"active": False, "reason": "not trained yet", "version": None}
    refused = predict(client, auth, {"project": "alpha", "skill": "Bash"})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "no_active_model"
    assert "not trained yet" in refused.json()["error"]["message"]


def test_an_active_model_is_shown_and_answers_with_a_read_key(project, client, auth):
    end = store_sessions(project, SIGNAL, sessions=300, seed=4)
    version = train(project, end)
    body = client.get("/api/v1/predictor", {"project": "alpha"}, **auth).json()
    assert body["active"] is True and body["reason"] == ""
    shown = body["version"]
    assert shown["id"] == version.pk and shown["auc"] == pytest.approx(version.auc)
    assert shown["features"][0] == "skill" and shown["artifact_sha256"] == version.artifact_sha256
    assert "artifact" not in shown
    answer = predict(
        client,
        auth,
        {"project": "alpha", "session": "session-299", "skill": "ruff", "at": end.isoformat()},
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["version"] == version.pk
    assert 0 <= answer.json()["p_success"] < 0.45


def test_bad_predict_input_names_the_field(project, other_project, client, auth):
    assert predict(client, auth, {"skill": "Bash"}).json()["error"]["detail"].keys() == {"project"}
    bad_at = predict(client, auth, {"project": "alpha", "skill": "Bash", "at": "yesterday"})
    assert bad_at.status_code == 400 and "at" in bad_at.json()["error"]["detail"]
    nul = predict(client, auth, {"project": "alpha", "skill": "Ba\u0000sh"})
    assert nul.status_code == 400 and "skill" in nul.json()["error"]["detail"]
    unknown = predict(client, auth, {"project": "alpha", "skill": "Bash", "session": "nope"})
    assert unknown.status_code == 404
    assert predict(client, auth, {"project": "beta", "skill": "Bash"}).status_code == 404
    assert predict(client, {}, {"project": "alpha", "skill": "Bash"}).status_code == 401
    listed = client.get("/api/v1/predictor", **auth)
    assert listed.status_code == 400 and "project" in listed.json()["error"]["detail"]


def test_the_calibration_chart_renders_the_bins_or_the_reason(project):
    end = store_sessions(project, SIGNAL, sessions=300, seed=4)
    version = train(project, end)
    html = render_to_string(
        "analytics/_calibration_chart.html", {"predictor": store.status(project)}
    )
    assert f"Active model {version.pk}" in html
    assert html.count("<circle") == len(version.calibration_bins) > 0
    assert f"{version.auc:.3f}" in html and "percentile bootstrap" in html
    empty = render_to_string(
        "analytics/_calibration_chart.html",
        {"predictor": {"active": False, "reason": "not trained yet", "version": None}},
    )
    assert "No active model: not trained yet." in empty


def test_a_model_that_failed_shows_its_reason_in_the_chart(other_project):
    end = store_sessions(other_project, NOISE, sessions=300, seed=2)
    train(other_project, end)
    status = store.status(other_project)
    html = render_to_string("analytics/_calibration_chart.html", {"predictor": status})
    assert f"No active model: {status['reason']}" in html.replace("&#x27;", "'")


def test_the_admin_shows_versions_without_their_bytes(project, admin_client):
    version = train(project, store_sessions(project, SIGNAL, sessions=300, seed=4))
    assert admin_client.get("/admin/analytics/modelversion/").status_code == 200
    page = admin_client.get(f"/admin/analytics/modelversion/{version.pk}/change/")
    assert page.status_code == 200 and version.artifact_sha256 in page.content.decode()
    assert "id_artifact" not in page.content.decode()
    assert admin_client.get("/admin/analytics/dependencypass/").status_code == 200
