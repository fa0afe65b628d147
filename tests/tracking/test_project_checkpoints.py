"""The project page's checkpoint list: newest first, paged, filtered by kind, with sessionless
(CI) checkpoints among them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tracking import selectors
from tracking.models import Checkpoint, Session

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)


@pytest.fixture
def checkpoints(project) -> list[Checkpoint]:
    session = Session.objects.create(project=project, external_id="sess-live", started_at=T0)
    rows = []
    for i in range(30):
        ci = i % 3 == 0
        rows.append(
            Checkpoint.objects.create(
                project=project,
                session=None if ci else session,
                kind="ci" if ci else "auto",
                score_total=None if i == 29 else 60 + i,
                points_measured=None if i == 29 else 40,
                gate_verdict="passed" if i % 2 else "failed",
                created_at=T0 + timedelta(minutes=i),
            )
        )
    return rows


def test_the_list_is_newest_first_and_paged(owner_client, checkpoints):
    first = owner_client.get("/p/alpha/").context["checkpoints"]
    assert [c.pk for c in first] == [c.pk for c in reversed(checkpoints)][:25]
    second = owner_client.get("/p/alpha/?cpage=2").context["checkpoints"]
    assert [c.pk for c in second] == [c.pk for c in reversed(checkpoints)][25:]


def test_the_kind_filter_keeps_sessionless_ci_checkpoints(owner_client, checkpoints):
    response = owner_client.get("/p/alpha/?kind=ci")
    listed = list(response.context["checkpoints"])
    assert len(listed) == 10 and all(c.session is None and c.kind == "ci" for c in listed)
    assert "no session (CI)" in response.content.decode()


def test_an_unknown_kind_lists_every_kind(owner_client, checkpoints):
    response = owner_client.get("/p/alpha/?kind=nope")
    assert response.context["checkpoint_kind"] == ""
    assert response.context["checkpoints"].paginator.count == 30


def test_the_pager_keeps_the_filter_and_the_sessions_page(owner_client, project):
    for i in range(30):
        Checkpoint.objects.create(project=project, kind="ci", created_at=T0 + timedelta(minutes=i))
    page = owner_client.get("/p/alpha/?kind=ci&page=1").content.decode()
    assert 'href="?kind=ci&amp;page=1&amp;cpage=2#checkpoints"' in page


def test_a_row_shows_score_points_gate_and_session(owner_client, checkpoints):
    page = owner_client.get("/p/alpha/").content.decode()
    newest_scored = checkpoints[28]
    row = page.split(f'data-checkpoint="{newest_scored.pk}"')[1].split("</tr>")[0]
    assert "88.0" in row and ">40 of 100<" in row and ">failed<" in row
    assert 'title="sess-live">sess-live</code>' in row
    unscored = page.split(f'data-checkpoint="{checkpoints[29].pk}"')[1].split("</tr>")[0]
    assert "not measured" in unscored


def test_another_projects_checkpoints_are_not_listed(project, other_project, checkpoints):
    Checkpoint.objects.create(project=other_project, kind="ci")
    assert selectors.project_checkpoints(project).count() == 30
