from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.tracking.pages_support import T0, client_for, seed
from tracking.models import Checkpoint, Session
from tracking.selectors import CHART_POINTS, SESSIONS_PER_PAGE


@pytest.fixture
def demo(db, owner):
    projects = seed(days=3)
    projects["demo-payments-api"].members.add(owner)
    return projects["demo-payments-api"]


def test_it_shows_each_session_with_its_latest_checkpoint_score(demo, owner):
    response = client_for(owner).get(f"/p/{demo.slug}/")
    assert response.status_code == 200
    shown = list(response.context["sessions"])
    assert shown
    for session in shown:
        latest = session.checkpoints.order_by("-created_at", "-pk").first()
        assert session.latest_score == (latest.score_total if latest else None)
        assert session.checkpoint_count == session.checkpoints.count()
        assert session.invocation_count == session.invocations.count()


def test_it_embeds_the_chart_data_in_time_order(demo, owner):
    response = client_for(owner).get(f"/p/{demo.slug}/")
    scored = Checkpoint.objects.filter(project=demo, score_total__isnull=False)
    data = response.context["chart"]
    assert len(data["scores"]) == min(scored.count(), CHART_POINTS)
    assert data["labels"] == sorted(data["labels"])
    oldest = scored.order_by("created_at", "pk")[0]
    assert oldest.score_total is not None
    assert data["scores"][0] == round(oldest.score_total, 1)
    embedded = response.content.split(b'id="score-data" type="application/json">')[1]
    assert json.loads(embedded.split(b"</script>")[0]) == data
    assert b"vendor/chartjs/chart.umd.js" in response.content


def test_it_marks_a_demo_project_as_demo(demo, owner, project):
    assert b"Demo data." in client_for(owner).get(f"/p/{demo.slug}/").content
    assert b"Demo data." not in client_for(owner).get("/p/alpha/").content


def test_it_shows_an_empty_project_without_a_chart(owner_client, project):
    response = owner_client.get("/p/alpha/")
    assert response.status_code == 200
    assert b"No sessions recorded yet." in response.content
    assert b"chart.umd.js" not in response.content


def test_it_paginates_the_sessions(owner_client, project):
    total = SESSIONS_PER_PAGE + 5
    Session.objects.bulk_create(
        Session(project=project, external_id=f"s{i:02d}", started_at=T0 + timedelta(hours=i))
        for i in range(total)
    )
    first = owner_client.get("/p/alpha/").context["sessions"]
    second = owner_client.get("/p/alpha/?page=2").context["sessions"]
    assert [s.external_id for s in first][:2] == [f"s{total - 1}", f"s{total - 2}"]
    assert [s.external_id for s in second] == [f"s{i:02d}" for i in range(4, -1, -1)]
    # A page past the end or not a number gives the nearest page instead of an error.
    assert owner_client.get("/p/alpha/?page=99").context["sessions"].number == 2
    assert owner_client.get("/p/alpha/?page=x").context["sessions"].number == 1
    assert b"Page 1 of 2" in owner_client.get("/p/alpha/").content


def test_it_hides_a_project_from_a_non_member(demo, outsider):
    assert client_for(outsider).get(f"/p/{demo.slug}/").status_code == 404


def test_it_404s_an_unknown_project(owner_client):
    assert owner_client.get("/p/nope/").status_code == 404


def test_it_sends_anonymous_users_to_log_in(demo, client):
    response = client.get(f"/p/{demo.slug}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")
