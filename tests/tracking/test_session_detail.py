from __future__ import annotations

from decimal import Decimal

import pytest

from tests.tracking.pages_support import client_for, seed, session_with_timeline
from tracking.models import Session
from tracking.selectors import TIMELINE_PER_PAGE


def test_it_interleaves_checkpoints_and_invocations_by_time(owner_client, project):
    session = session_with_timeline(project, checkpoints=3, invocations=3)
    response = owner_client.get(f"/p/alpha/s/{session.pk}/")
    assert response.status_code == 200
    kinds = [entry.kind for entry in response.context["timeline"]]
    assert kinds == ["invocation", "checkpoint"] * 3
    times = [entry.at for entry in response.context["timeline"]]
    assert times == sorted(times)


def test_it_paginates_the_timeline(owner_client, project):
    session = session_with_timeline(project, checkpoints=30, invocations=30)
    url = f"/p/alpha/s/{session.pk}/"
    first = owner_client.get(url).context["timeline"]
    second = owner_client.get(url + "?page=2").context["timeline"]
    assert len(first.object_list) == TIMELINE_PER_PAGE
    assert len(second.object_list) == 60 - TIMELINE_PER_PAGE
    # Entry 50 is invocation 25 (every other entry is an invocation).
    assert second.object_list[0].item.skill == "skill-25"
    assert second.object_list[-1].item.score_total == 50 + 29


def test_it_shows_token_totals_and_a_known_cost(owner_client, project):
    session = Session.objects.create(
        project=project,
        external_id="s1",
        input_tokens=1200,
        output_tokens=34000,
        cache_creation_tokens=5,
        cache_read_tokens=1_000_000,
        cost_usd=Decimal("3.456"),
    )
    content = owner_client.get(f"/p/alpha/s/{session.pk}/").content.decode()
    assert "1,035,205" in content  # the total of the four kinds
    assert "$3.46" in content
    assert "not known" not in content


def test_it_says_the_cost_is_not_known_rather_than_zero(owner_client, project):
    session = Session.objects.create(project=project, external_id="s1", cost_usd=None)
    content = owner_client.get(f"/p/alpha/s/{session.pk}/").content.decode()
    assert "not known" in content
    assert "$0.00" not in content


def test_it_says_tokens_are_not_measured_when_no_usage_was_recorded(owner_client, project):
    # A session that only ever came through the ingest API has no model usage to show.
    session = Session.objects.create(project=project, external_id="s1")
    response = owner_client.get(f"/p/alpha/s/{session.pk}/")
    tokens = response.content.decode().split('id="tokens"')[1].split("</section>")[0]
    assert "not measured" in tokens
    assert "Cache read" not in tokens


def test_it_counts_outcomes_with_undecided_apart(owner_client, project):
    session = session_with_timeline(project, checkpoints=0, invocations=6)
    outcomes = owner_client.get(f"/p/alpha/s/{session.pk}/").context["outcomes"]
    # completed = i % 3 != 0 for i in 0..5: i = 0 and 3 failed.
    assert outcomes == {"completed": 4, "failed": 2, "undecided": 0}


@pytest.mark.parametrize("who", ["outsider", "anonymous"])
def test_it_hides_sessions_from_others(project, outsider, client, who):
    session = Session.objects.create(project=project, external_id="s1")
    if who == "outsider":
        response = client_for(outsider).get(f"/p/alpha/s/{session.pk}/")
        assert response.status_code == 404
    else:
        assert client.get(f"/p/alpha/s/{session.pk}/").status_code == 302


def test_it_404s_a_session_asked_for_under_another_project(owner, project, other_project):
    other_project.members.add(owner)
    session = Session.objects.create(project=other_project, external_id="s1")
    assert client_for(owner).get(f"/p/alpha/s/{session.pk}/").status_code == 404


def test_it_renders_demo_sessions(db, owner):
    projects = seed(days=2)
    project = projects["demo-web-dashboard"]
    project.members.add(owner)
    client = client_for(owner)
    for session in project.sessions.all():
        assert client.get(session.get_absolute_url()).status_code == 200
