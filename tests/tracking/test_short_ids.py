"""Ids are shortened one way on every page: whole up to 12 characters, else a prefix and "…",
the whole id in the tooltip; never cut at the end."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tracking.models import Checkpoint, Session
from tracking.templatetags.cairn import short_id, short_id_text

UUID = "0c6a7f0e-5d7b-4c55-9a3e-2b1f9d4e8a61"
SUBAGENT = f"{UUID}:agent-a1b2c3d4"


def test_a_short_id_is_shown_whole_and_a_long_one_as_its_prefix():
    assert short_id_text("sess-live") == "sess-live"
    assert short_id_text("twelve-chars") == "twelve-chars"
    assert short_id_text("thirteen-char") == "thirteen…"
    assert short_id_text(UUID) == "0c6a7f0e…"
    assert short_id(UUID) == f'<code class="id" title="{UUID}">0c6a7f0e…</code>'
    assert short_id("") == "—"


@pytest.mark.django_db
def test_the_pages_show_sess_live_whole_and_subagents_by_prefix(owner_client, project):
    T = datetime(2026, 12, 1, 9, tzinfo=UTC)
    live = Session.objects.create(project=project, external_id="sess-live", started_at=T)
    child = Session.objects.create(project=project, external_id=SUBAGENT, started_at=T, parent=live)
    checkpoint = Checkpoint.objects.create(project=project, session=child, kind="manual")
    pages = {
        "project": owner_client.get("/p/alpha/").content.decode(),
        "session": owner_client.get(live.get_absolute_url()).content.decode(),
        "child": owner_client.get(child.get_absolute_url()).content.decode(),
        "checkpoint": owner_client.get(checkpoint.get_absolute_url()).content.decode(),
    }
    assert '<code class="id" title="sess-live">sess-live</code>' in pages["project"]
    assert "sess-liv<" not in pages["project"]
    assert f'<code class="id" title="{SUBAGENT}">0c6a7f0e…</code>' in pages["project"]
    # The subagent's page names its parent whole, the breadcrumbs and title the same way.
    assert '<code class="id" title="sess-live">sess-live</code>' in pages["child"]
    assert "<title>Session 0c6a7f0e… · Alpha · Cairn</title>" in pages["child"]
    assert f'<code class="id" title="{SUBAGENT}">0c6a7f0e…</code>' in pages["checkpoint"]
    # The old cut kept a subagent id's last 24 characters; only its own page's heading shows
    # the whole id now.
    for name in ("project", "session", "checkpoint"):
        assert "agent-a1b2c3d4</code>" not in pages[name]
