"""The Claude Code part of the session page: tokens, cost, context chart, tools, subagents."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from integrations.claude_code.accounting import Ledger
from integrations.claude_code.pricing import cost_of
from integrations.claude_code.selectors import session_panel
from integrations.claude_code.transcript import agent_id_from_path, read_chunk, split_lines
from tracking.models import Checkpoint, Session

from .conftest import EXPECTED, MAIN, TRANSCRIPTS, data_path

pytestmark = pytest.mark.django_db
MAIN_ID = EXPECTED["files"][MAIN]["session_ids"][0]


@pytest.fixture
def imported(project):
    call_command(
        "import_transcripts", str(TRANSCRIPTS / "spotter"), "--project", project.slug,
        stdout=StringIO(),
    )  # fmt: skip
    return Session.objects.get(external_id=MAIN_ID)


def test_it_shows_tokens_cost_context_tools_and_subagents(owner_client, imported):
    response = owner_client.get(imported.get_absolute_url())
    assert response.status_code == 200
    page = response.content.decode()
    # One tokens-and-cost card, its source stated; the panel breaks it down by model.
    assert page.count("Tokens and cost</h2>") == 1
    assert "Source: <strong>transcript</strong> — 139 API requests imported" in page
    assert "Claude Code: cost by model" in page
    assert (
        "Claude Code 2.1.39 in <code>/home/USER/projects/spotter-worktrees/spotter-dov</code>"
        in page
    )
    assert "With its 2 subagents: 28,899 output tokens, cost $10.11." in page
    chart = json.loads(page.split('id="context-data" type="application/json">')[1].split("<")[0])
    assert chart["count"] == 139 and len(chart["context"]) == 139
    assert [m for m in chart["compactions"] if m is not None] == [170251]
    assert chart["context"][-1] == imported.context_tokens_last == 106060
    assert "vendor/chartjs/chart.umd.js" in page and "integrations/context_chart.js" in page
    assert '<td><code>Bash</code></td><td class="num">67</td>' in page
    for child in imported.children.all():
        assert f'href="{child.get_absolute_url()}"' in page


def panel_of(session) -> dict:
    """The session page's Claude Code panel, which every imported session has."""
    panel = session_panel(session)
    assert panel is not None
    return panel


def test_it_computes_error_rates_and_durations_per_tool(imported):
    panel = panel_of(imported)
    rows = {row.skill: row for row in panel["tools"]}
    expected = EXPECTED["files"][MAIN]["tool_use_by_name"]
    assert {skill: row.calls for skill, row in rows.items()} == expected
    assert sum(row.failed for row in rows.values()) == 5
    assert all(row.decided == row.calls for row in rows.values())
    bash = rows["Bash"]
    assert bash.error_rate == bash.failed / 67
    assert bash.mean_s is not None and bash.max_s >= bash.mean_s > 0
    assert panel["family_cost"].quantize(Decimal("0.0001")) == Decimal("10.1137")


def test_it_prices_the_work_before_each_checkpoint(imported, project):
    times = [datetime.fromisoformat("2026-02-12T17:00:00Z"), imported.ended_at]
    Checkpoint.objects.create(
        project=project, session=imported, created_at=times[0], score_total=50
    )
    Checkpoint.objects.create(
        project=project, session=imported, created_at=times[1], score_total=62
    )
    ledger = Ledger()
    for relative in [MAIN, *EXPECTED["sessions_main_plus_subagents"][MAIN]["subagent_files"]]:
        lines, _ = split_lines(data_path(relative).read_bytes())
        ledger.extend(read_chunk(lines, agent_id=agent_id_from_path(relative)).requests)

    def cost_between(start, end) -> Decimal | None:
        window = Ledger()
        window.extend(
            r
            for r in ledger.requests.values()
            if (start is None or datetime.fromisoformat(r.timestamp) > start)
            and datetime.fromisoformat(r.timestamp) <= end
        )
        return cost_of({m: u for m, (_, u) in window.by_model().items()})

    first, second = panel_of(imported)["checkpoints"]
    assert first.cost_usd == cost_between(None, times[0]) and first.score_change is None
    assert second.cost_usd == cost_between(times[0], times[1])
    assert first.cost_usd + second.cost_usd == cost_between(None, times[1])
    assert second.change_per_dollar == pytest.approx(12 / float(second.cost_usd))


def test_it_leaves_the_page_alone_for_sessions_without_claude_code_data(owner_client, project):
    session = Session.objects.create(project=project, external_id="manual-1")
    page = owner_client.get(session.get_absolute_url()).content.decode()
    assert "Claude Code" not in page and "context-chart" not in page
