"""The session page says what fed the session and shows the figures only OTLP has."""

from __future__ import annotations

import pytest

from tests.integrations.otlp_requests import NOW_NS, SESSION, START_NS, metrics, post
from tracking.models import Session

pytestmark = pytest.mark.django_db


def test_the_page_shows_the_sources_and_the_otlp_figures(client, owner_client, write_key):
    export = metrics(
        [
            ("active_time.total", {"type": "user"}, 125.0, START_NS, NOW_NS),
            ("lines_of_code.count", {"type": "added"}, 1234, START_NS, NOW_NS),
            ("lines_of_code.count", {"type": "removed"}, 56, START_NS, NOW_NS),
            ("code_edit_tool.decision", {"decision": "accept"}, 7, START_NS, NOW_NS),
        ]
    )
    assert post(client, "metrics", export, write_key).status_code == 200
    session = Session.objects.get(external_id=SESSION)
    html = owner_client.get(session.get_absolute_url()).content.decode()
    assert "Fed by: otlp." in html
    assert "OTLP <code>token.usage</code>" not in html  # no token points: not measured
    assert 'Active time: you / the CLI</td><td class="num">2 min 05 s / ' in html
    assert '<td class="num">1,234 / 56</td>' in html
    rejected = html.split("Edits accepted / rejected</td>")[1].split("</tr>")[0]
    assert "7 / " in rejected and "not measured" in rejected  # no reject point was sent


def test_a_session_without_otlp_says_not_measured(owner_client, project):
    session = Session.objects.create(project=project, external_id="plain")
    html = owner_client.get(session.get_absolute_url()).content.decode()
    assert 'id="otlp-missing"' in html
    assert 'Fed by: <span class="missing">nothing recorded yet</span>.' in html
