"""The checkpoint page's report, trends and report.md download; the session's start → end table."""

from __future__ import annotations

import pytest
from django.test import Client

from quality.collectors.base import Source, measured, not_measured
from quality.collectors.git import GitInfo
from quality.markdown import to_html
from quality.report import render_markdown
from tracking.checkpoints import checkpoint_record
from tracking.models import Session
from tracking.reports import report_data

SRC = Source(tool="test", tool_version="1", artefact="fixture")


def readings(coverage: float | None, tests: int, failed: int) -> list:
    cov = (
        [measured("coverage.line_percent", coverage, SRC)]
        if coverage is not None
        else not_measured(["coverage.line_percent"], SRC, "no coverage file")
    )
    return cov + [
        measured("tests.total", tests, SRC, ids=[f"t::{i}" for i in range(tests)]),
        measured("tests.failed", failed, SRC),
        measured("fs.python_lines", 1000, SRC),
    ]


@pytest.fixture
def session_checkpoints(project):
    session = Session.objects.create(project=project, external_id="s-web")
    git = GitInfo(head="a" * 40, branch="main", dirty=False)
    start = checkpoint_record(
        project=project, readings=readings(70.0, 4, 0), git=git, session=session, kind="start"
    )
    middle = checkpoint_record(project=project, readings=readings(None, 5, 1), session=session)
    end = checkpoint_record(
        project=project, readings=readings(75.5, 6, 0), git=git, session=session, kind="end"
    )
    return session, start, middle, end


def test_it_shows_the_report_and_trends_on_the_checkpoint_page(owner_client, session_checkpoints):
    session, start, middle, end = session_checkpoints
    page = owner_client.get(end.get_absolute_url())
    assert page.status_code == 200
    html = page.content.decode()
    assert '<section class="card" id="report">' in html
    assert "<h3>Executive summary</h3>" in html
    assert "<strong>Test coverage</strong>: 75.5 % (↑5.5 pt from the session start)" in html
    assert '<td>Tests created</td><td class="num">2</td>' in html
    assert f'href="/p/alpha/c/{end.pk}/report.md"' in html
    assert "vendor/chartjs/chart.umd.js" in html and "quality/trend_chart.js" in html
    trends = page.context["trends"]
    assert trends["session"]["ids"] == [start.pk, middle.pk, end.pk]
    assert trends["session"]["coverage"] == [70.0, None, 75.5]  # a gap, not a 0
    assert trends["project"]["scores"] == [start.score_total, middle.score_total, end.score_total]
    earlier = owner_client.get(middle.get_absolute_url()).context["trends"]
    assert earlier["session"]["ids"] == [start.pk, middle.pk]


def test_it_downloads_the_same_report_as_the_command(owner_client, session_checkpoints):
    end = session_checkpoints[3]
    response = owner_client.get(f"/p/alpha/c/{end.pk}/report.md")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="alpha-checkpoint-{end.pk}.md"'
    assert response.content.decode() == render_markdown(report_data(end))


def test_it_hides_the_report_from_others(client, outsider, session_checkpoints):
    outsider_client = Client()
    outsider_client.force_login(outsider)
    end = session_checkpoints[3]
    url = f"/p/alpha/c/{end.pk}/report.md"
    assert outsider_client.get(url).status_code == 404
    assert client.get(url).status_code == 302  # to the login page


def test_it_compares_a_session_from_start_to_end(owner_client, session_checkpoints):
    session, start, _, end = session_checkpoints
    page = owner_client.get(session.get_absolute_url())
    comparison = page.context["comparison"]
    assert (comparison["start"], comparison["end"]) == (start, end)
    rows = {r["key"]: r for r in comparison["rows"]}
    assert rows["coverage.line_percent"] == {
        "label": "Line coverage %", "key": "coverage.line_percent",
        "start": "70", "end": "75.50", "delta": "+5.5",
    }  # fmt: skip
    assert rows["tests.total"]["delta"] == "+2"
    assert rows["types.errors"]["start"] == "not measured"
    assert '<section class="card" id="comparison">' in page.content.decode()


def test_it_escapes_everything_it_converts():
    html = to_html(
        "# T\n\n- **a** `<b>` _c_ <script>x</script>\n\n| k | v |\n|---|---:|\n| `a\\|b` | 1 |\n"
    )
    assert "<h1>T</h1>" in html
    item = "<strong>a</strong> <code>&lt;b&gt;</code> <em>c</em> &lt;script&gt;x&lt;/script&gt;"
    assert f"<li>{item}</li>" in html
    assert '<td><code>a|b</code></td><td class="num">1</td>' in html
