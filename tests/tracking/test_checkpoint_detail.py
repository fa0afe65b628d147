from __future__ import annotations

import pytest

from tests.tracking.pages_support import client_for, seed
from tracking.models import Checkpoint, Measurement


@pytest.fixture
def checkpoint(project):
    checkpoint = Checkpoint.objects.create(
        project=project, kind="ci", score_total=71.25, stars=4, label="Good", gate_verdict="failed"
    )
    Measurement.objects.create(
        checkpoint=checkpoint,
        key="coverage.line_percent",
        value=83.4,
        unit="%",
        tool="coverage.py",
        tool_version="7.6.1",
        artefact="coverage.xml",
    )
    Measurement.objects.create(
        checkpoint=checkpoint,
        key="types.errors",
        value=None,
        reason="mypy is not installed",
    )
    return checkpoint


def test_it_lists_measurements_with_their_source(owner_client, checkpoint):
    response = owner_client.get(f"/p/alpha/c/{checkpoint.pk}/")
    assert response.status_code == 200
    content = response.content.decode()
    assert "coverage.line_percent" in content
    assert "83.4" in content
    assert "7.6.1" in content
    assert "coverage.xml" in content
    assert "71.2" in content  # the total, one decimal
    assert "gate failed" in content


def test_it_shows_not_measured_with_the_reason_never_zero(owner_client, checkpoint):
    content = owner_client.get(f"/p/alpha/c/{checkpoint.pk}/").content.decode()
    row = content.split("types.errors")[1].split("</tr>")[0]
    assert "not measured" in row
    assert ">0<" not in row
    assert "Why not measured: mypy is not installed" in content


def test_it_hides_checkpoints_from_non_members(checkpoint, outsider, client):
    url = f"/p/alpha/c/{checkpoint.pk}/"
    assert client_for(outsider).get(url).status_code == 404
    assert client.get(url).status_code == 302


def test_it_renders_every_demo_checkpoint_of_a_session(db, owner):
    project = seed(days=2)["demo-docs-site"]
    project.members.add(owner)
    client = client_for(owner)
    checkpoints = project.checkpoints.all()[:20]
    assert checkpoints
    for checkpoint in checkpoints:
        response = client.get(checkpoint.get_absolute_url())
        assert response.status_code == 200
        # docs-site has no tests: its coverage is "not measured" with a reason.
        assert b"no coverage report found" in response.content


def test_it_calls_only_a_ci_checkpoint_without_a_session_ci(owner_client, checkpoint, project):
    manual = Checkpoint.objects.create(project=project, kind="manual")
    ci_page = owner_client.get(f"/p/alpha/c/{checkpoint.pk}/").content.decode()
    manual_page = owner_client.get(f"/p/alpha/c/{manual.pk}/").content.decode()
    assert "· no session (CI)</p>" in ci_page
    assert "· no session</p>" in manual_page
    assert "(CI)" not in manual_page
