from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from tests.tracking.pages_support import client_for, seed
from tracking.models import Checkpoint, Measurement, Project, Session, SkillHourly, SkillInvocation

CHANGELISTS = ["project", "session", "checkpoint", "measurement", "skillinvocation", "skillhourly"]


@pytest.fixture
def admin_client(db):
    seed(days=2)
    return client_for(User.objects.create_superuser("root", "root@example.org", "pw"))


@pytest.mark.parametrize("model", CHANGELISTS)
def test_it_renders_every_changelist_with_data(admin_client, model):
    response = admin_client.get(f"/admin/tracking/{model}/")
    assert response.status_code == 200
    assert response.context["cl"].result_count > 0


@pytest.mark.parametrize(
    "model, query",
    [
        ("session", "?status__exact=active&q=feature"),
        ("checkpoint", "?gate_verdict__exact=failed&kind__exact=ci"),
        ("measurement", "?q=coverage"),
        ("skillinvocation", "?completed__exact=0&q=Bash"),
    ],
)
def test_it_filters_and_searches(admin_client, model, query):
    assert admin_client.get(f"/admin/tracking/{model}/{query}").status_code == 200


def test_it_renders_change_pages_with_their_inlines(admin_client):
    session = Session.objects.filter(checkpoints__isnull=False).earliest("pk")
    response = admin_client.get(f"/admin/tracking/session/{session.pk}/change/")
    assert response.status_code == 200
    assert str(session.checkpoints.all()[0].commit)[:10].encode() in response.content
    checkpoint = Checkpoint.objects.earliest("pk")
    response = admin_client.get(f"/admin/tracking/checkpoint/{checkpoint.pk}/change/")
    assert response.status_code == 200
    assert b"coverage.line_percent" in response.content


def test_it_shows_api_key_prefixes_but_never_their_hashes(admin_client):
    project = Project.objects.earliest("pk")
    key, plain = project.create_api_key(scope="read")
    content = admin_client.get(f"/admin/tracking/project/{project.pk}/change/").content.decode()
    assert key.prefix in content
    assert key.key_hash not in content
    assert plain not in content


@pytest.mark.parametrize("model", [SkillInvocation, SkillHourly])
def test_it_keeps_the_event_log_and_rollups_read_only(admin_client, model):
    name = model._meta.model_name
    row = model.objects.first()
    assert admin_client.get(f"/admin/tracking/{name}/add/").status_code == 403
    assert admin_client.get(f"/admin/tracking/{name}/{row.pk}/delete/").status_code == 403
    change = admin_client.get(f"/admin/tracking/{name}/{row.pk}/change/")
    assert change.status_code == 200
    assert b'name="_save"' not in change.content
    assert admin_client.post(f"/admin/tracking/{name}/{row.pk}/change/", {}).status_code == 403
    assert model.objects.filter(pk=row.pk).exists()


def test_it_keeps_the_admin_from_non_staff(owner_client):
    response = owner_client.get("/admin/tracking/session/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_it_shows_measured_values_in_full(admin_client):
    checkpoint = Checkpoint.objects.earliest("pk")
    Measurement.objects.create(checkpoint=checkpoint, key="qa.big", value=1_116_507_719.0)
    Measurement.objects.create(checkpoint=checkpoint, key="qa.ratio", value=66.66666666666667)
    content = admin_client.get("/admin/tracking/measurement/?q=qa.").content.decode()
    assert '<td class="field-value_or_reason">1,116,507,719</td>' in content
    assert '<td class="field-value_or_reason">66.66666666666667</td>' in content
    assert "e+09" not in content


@pytest.mark.parametrize("model", [Checkpoint, Measurement])
def test_measured_figures_cannot_be_typed_in_or_edited(admin_client, model):
    name = model._meta.model_name
    row = model.objects.earliest("pk")
    assert admin_client.get(f"/admin/tracking/{name}/add/").status_code == 403
    page = admin_client.get(f"/admin/tracking/{name}/{row.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content
    field = "score_total" if model is Checkpoint else "value"
    before = getattr(row, field)
    admin_client.post(f"/admin/tracking/{name}/{row.pk}/change/", {field: "100"})
    row.refresh_from_db()
    assert getattr(row, field) == before
