"""Figures that mislead: a partial score reads as partial, gates say why they were not
evaluated, numbers never in scientific notation, one zone and format for times, one duration
format (the report, the pages and the admin)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.test import Client

from quality import score
from quality.collectors.base import Source, measured
from quality.report import render_markdown
from tracking.checkpoints import checkpoint_record
from tracking.models import Checkpoint, Session
from tracking.reports import report_data

pytestmark = pytest.mark.django_db
SRC = Source(tool="test", tool_version="1", artefact="fixture")
AT = datetime(2026, 12, 1, 17, 33, 0, tzinfo=UTC)
GATE = [
    {"metric": "tests.failed", "op": "==", "threshold": 0},
    {"metric": "coverage.line_percent", "op": ">=", "threshold": "start"},
]


def ci_839(project) -> Checkpoint:
    """The issue's CI checkpoint: 15 of 100 points measured (coverage only), one failing test,
    no session so no start checkpoint to compare coverage with."""
    project.gate_config = GATE
    project.save()
    readings = [
        measured("coverage.line_percent", 94.7, SRC),
        measured("tests.failed", 1, SRC),
        measured("coverage.statements", 10150, SRC),
        measured("fs.total_bytes", 382812345, SRC),
    ]
    return checkpoint_record(project=project, readings=readings, kind="ci", created_at=AT)


def test_the_partial_share_is_one_documented_constant():
    assert score.FULL_SHARE == 0.5
    assert (score.stars(94.7, 15), score.label(94.7, 15)) == (None, "partial: 15 of 100 points")
    assert (score.stars(94.7, 50), score.label(94.7, 50)) == (5, "Excellent")


def test_a_score_on_15_points_is_partial_in_the_report(project):
    checkpoint = ci_839(project)
    assert (checkpoint.score_total, checkpoint.points_measured) == (94.7, 15)
    assert (checkpoint.stars, checkpoint.label) == (None, "partial: 15 of 100 points")
    report = render_markdown(report_data(checkpoint))
    assert "## Quality Score V2: 94.7/100 — partial: 15 of 100 points\n" in report
    assert "Excellent" not in report and "★" not in report
    # The gate verdict stands beside the score.
    assert "15 of 100 points measured · gate failed" in report


def test_the_report_says_why_a_gate_condition_was_not_evaluated(project):
    report = render_markdown(report_data(ci_839(project)))
    assert (
        "- `coverage.line_percent` >= session start: not evaluated: "
        "the checkpoint has no session, so no start checkpoint" in report
    )
    assert "- `tests.failed` == 0: 1, failed" in report
    for emoji in "✅❌➖":
        assert emoji not in report


def test_the_report_writes_no_scientific_notation(project):
    report = render_markdown(report_data(ci_839(project)))
    assert "e+0" not in report
    assert "| `coverage.statements` | 10,150 |" in report
    assert "| `fs.total_bytes` | 382,812,345 |" in report


def test_nothing_measured_reads_as_a_sentence(project):
    checkpoint = checkpoint_record(project=project, readings=[], created_at=AT)
    report = render_markdown(report_data(checkpoint))
    assert "scaled over the 0 of 100" not in report
    assert "(no point was measured)" in report


def test_the_checkpoint_page_shows_partial_and_why_the_gate_was_not_evaluated(
    owner_client, project
):
    checkpoint = ci_839(project)
    page = owner_client.get(checkpoint.get_absolute_url()).content.decode()
    card = page.split('id="score"', 1)[1].split("</section>", 1)[0]
    assert "partial: 15 of 100 points" in card
    assert "Excellent" not in card and "★" not in card
    assert '<span class="badge fail" title="gate failed">gate failed</span>' in card
    gates = page.split('id="gates"', 1)[1].split("</section>", 1)[0]
    assert "not evaluated: the checkpoint has no session, so no start checkpoint" in gates
    assert "not measured" not in gates
    assert "scaled over the 15 of 100" not in page


def test_an_unevaluated_gate_is_not_called_no_gate(owner_client, project):
    project.gate_config = [GATE[0]]
    project.save()
    session = Session.objects.create(project=project, external_id="s")
    checkpoint = checkpoint_record(project=project, readings=[], session=session, created_at=AT)
    assert checkpoint.gate_verdict == ""
    page = owner_client.get(session.get_absolute_url()).content.decode()
    timeline = page.split('id="timeline"', 1)[1]
    assert "no gate" not in timeline
    assert 'title="not evaluated: tests.failed was not measured">gate not evaluated' in timeline


def test_debt_minutes_read_as_hours_and_minutes(owner_client, project):
    checkpoint = Checkpoint.objects.create(
        project=project, debt_level="B", debt_minutes=111, created_at=AT
    )
    page = owner_client.get(checkpoint.get_absolute_url()).content.decode()
    assert "(1 h 51 min to fix)" in page
    assert "111 min" not in page


def test_tables_admin_and_footer_share_one_zone_and_format(owner_client, project, settings):
    session = Session.objects.create(project=project, external_id="s", started_at=AT)
    page = owner_client.get(project.get_absolute_url()).content.decode()
    assert '<time datetime="2026-12-01T17:33:00+00:00" title="UTC">2026-12-01 17:33:00</time>' in (
        page
    )
    assert 'Times are shown in <strong id="display-zone">UTC</strong>' in page

    settings.CAIRN_DISPLAY_TZ = "Europe/Berlin"
    page = owner_client.get(session.get_absolute_url()).content.decode()
    assert 'title="Europe/Berlin">2026-12-01 18:33:00</time>' in page
    assert '<html lang="en" data-tz="Europe/Berlin">' in page

    admin = Client()
    admin.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))
    listing = admin.get("/admin/tracking/session/").content.decode()
    assert "2026-12-01 18:33:00" in listing  # the admin too, in the same zone as the pages
    assert "Dec. 1, 2026" not in listing
