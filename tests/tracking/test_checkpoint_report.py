"""The report: sections from stored measurements, not measured shown as such, load tests."""

from __future__ import annotations

from analytics.management.commands.loadtest import attach
from quality.collectors.base import Source, measured, not_measured
from quality.report import render_json, render_markdown
from tracking.checkpoints import checkpoint_record
from tracking.models import Checkpoint
from tracking.reports import report_data

SRC = Source(tool="test", tool_version="1", artefact="fixture")


def test_it_renders_an_attached_load_test_against_its_targets(project):
    checkpoint = checkpoint_record(project=project, readings=[measured("tests.failed", 0, SRC)])
    assert "## Load test results" not in render_markdown(report_data(checkpoint))
    attach(
        checkpoint,
        {
            "connected": 100, "failed": 0, "messages_per_s": 94.09, "delivered_ratio": 0.985,
            "dropped": 0, "errors": 0,
            "latency_ms": {"p50": 12.5, "p95": 40.0, "p99": 61.0, "max": 90.0},
        },
    )  # fmt: skip
    report = render_markdown(report_data(Checkpoint.objects.get(pk=checkpoint.pk)))
    assert "| `loadtest.delivered_ratio` | 0.98 ratio | >= 0.99 | failed |" in report
    assert "| `loadtest.clients_failed` | 0 clients | == 0 | passed |" in report
    assert "| `loadtest.messages_per_s` | 94.09 msg/s |  |  |" in report


def test_it_says_not_measured_instead_of_zero(project):
    readings = not_measured(["coverage.line_percent", "tests.total"], SRC, "no artefact")
    checkpoint = checkpoint_record(project=project, readings=readings)
    report = render_markdown(report_data(checkpoint))
    assert "## Quality Score V2: not measured" in report
    assert "**Status**: **Not measured** · 0 of 100 points measured" in report
    assert "- **Test coverage**: not measured — no artefact" in report
    assert "The quality gate could not be evaluated" in report
    assert (
        "| `coverage.line_percent` | not measured: no artefact | % | test 1 | fixture |" in report
    )
    data = render_json(report_data(checkpoint))
    assert data["score"] is None and data["stars"] is None
    assert data["measurements"]["tests.total"]["value"] is None
    assert checkpoint.score_total is None and checkpoint.gate_verdict == ""


def test_it_says_which_project_size_was_not_measured_outside_git(project):
    walk = Source(tool="filesystem walk", artefact="/tmp/x")
    readings = [
        *not_measured(["fs.project_bytes", "fs.tracked_files"], walk, "not a git work tree"),
        measured("fs.total_bytes", 2_500_000, walk),
        measured("fs.python_lines", 1234, walk),
    ]
    checkpoint = checkpoint_record(project=project, readings=readings)
    report = render_markdown(report_data(checkpoint))
    assert (
        "- **Project size**: tracked files not measured — not a git work tree; "
        "2.5 MB on disk; 1,234 Python lines\n" in report
    )
    assert "not measured tracked" not in report


def test_it_says_not_measured_for_figures_never_recorded(project):
    # A CI upload of a JUnit report only: no secret scan, no git, no filesystem walk.
    checkpoint = checkpoint_record(project=project, readings=[measured("tests.total", 3, SRC)])
    report = render_markdown(report_data(checkpoint))
    assert "- **Secrets**: not measured\n" in report
    assert "- **Commits**: not measured\n" in report
    assert "- **Cleanup candidates**: not measured\n" in report
    assert "not measured file(s)" not in report and "not measured in total" not in report
