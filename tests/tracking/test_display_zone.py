"""A person's own display zone: chosen on the preferences page, used by every page, the admin
and the session patterns, for them only; a zone name the tz database lacks is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tracking.models import Preferences, Session

pytestmark = pytest.mark.django_db
AT = datetime(2026, 12, 1, 17, 33, 0, tzinfo=UTC)


def test_the_chosen_zone_is_used_on_every_page_and_only_for_that_person(
    owner_client, owner, project, settings
):
    settings.CAIRN_DISPLAY_TZ = "Europe/Berlin"
    session = Session.objects.create(project=project, external_id="s", started_at=AT)

    answer = owner_client.post("/preferences/", {"time_zone": "Asia/Kolkata"}, follow=True)
    assert "Times are now shown in Asia/Kolkata." in answer.content.decode()
    page = owner_client.get(session.get_absolute_url()).content.decode()
    # 17:33 UTC is 23:03 in India (UTC+05:30), where Berlin would say 18:33.
    assert 'title="Asia/Kolkata">2026-12-01 23:03:00</time>' in page
    assert '<html lang="en" data-tz="Asia/Kolkata">' in page
    assert 'Times are shown in <strong id="display-zone">Asia/Kolkata</strong>' in page

    teammate = User.objects.create_user("bob", "bob@example.org", "pw")
    project.members.add(teammate)
    other = Client()
    other.force_login(teammate)
    page = other.get(session.get_absolute_url()).content.decode()
    assert 'title="Europe/Berlin">2026-12-01 18:33:00</time>' in page


def test_the_admin_shows_times_in_the_persons_zone(settings):
    root = User.objects.create_superuser("root", "root@example.org", "pw")
    Preferences.objects.create(user=root, time_zone="America/New_York")
    project_session = Session.objects.create(
        project_id=_project().pk, external_id="s", started_at=AT
    )
    admin = Client()
    admin.force_login(root)
    listing = admin.get("/admin/tracking/session/").content.decode()
    assert project_session.external_id in listing
    assert "2026-12-01 12:33:00" in listing  # UTC−5 in December
    assert "2026-12-01 17:33:00" not in listing


def test_blank_goes_back_to_the_sites_zone(owner_client, owner):
    Preferences.objects.create(user=owner, time_zone="Asia/Tokyo")
    owner_client.post("/preferences/", {"time_zone": ""})
    assert Preferences.objects.get(user=owner).time_zone == ""
    page = owner_client.get("/preferences/").content.decode()
    assert 'Times are shown in <strong id="display-zone">UTC</strong>' in page


@pytest.mark.parametrize("bad", ["Mars/Olympus", "../../etc/passwd", "x" * 200])
def test_an_unknown_zone_is_refused_and_nothing_changes(owner_client, owner, bad):
    Preferences.objects.create(user=owner, time_zone="Asia/Tokyo")
    answer = owner_client.post("/preferences/", {"time_zone": bad})
    assert answer.status_code == 400
    assert "time_zone" in answer.content.decode()
    assert "Select a valid choice" in answer.content.decode()
    assert Preferences.objects.get(user=owner).time_zone == "Asia/Tokyo"


def test_the_session_patterns_follow_the_persons_zone(owner_client, owner, project):
    Preferences.objects.create(user=owner, time_zone="Asia/Tokyo")
    # Tuesday 23:30 UTC is Wednesday 08:30 in Tokyo.
    Session.objects.create(
        project=project,
        external_id="late",
        started_at=datetime(2026, 11, 24, 23, 30, tzinfo=UTC),
        ended_at=datetime(2026, 11, 24, 23, 35, tzinfo=UTC),
        status=Session.ENDED,
    )
    body = owner_client.get(
        f"/api/v1/projects/{project.slug}/session-stats",
        {"since": "2026-11-24T00:00:00Z", "until": "2026-11-26T00:00:00Z"},
    ).json()
    assert body["time_zone"] == "Asia/Tokyo"
    assert body["by_weekday"]["3"] == 1
    assert body["by_hour"]["8"] == 1


def test_preferences_need_a_login(client):
    answer = client.get("/preferences/")
    assert answer.status_code == 302
    assert "/login/" in answer["Location"]


def _project():
    from tracking.models import Project

    return Project.objects.create(name="Gamma", slug="gamma")
