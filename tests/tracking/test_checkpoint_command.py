"""`manage.py checkpoint` on a real package: stored checkpoint, session deltas, report, exits."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from quality.report import render_json, render_markdown
from tests.fixtures import DATA
from tracking.models import Checkpoint, Session
from tracking.reports import report_data

GRADE_TEST = 'from calc.core import grade\n\n\ndef test_a():\n    assert grade(95) == "A"\n'


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("checkpoint", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def values(checkpoint: Checkpoint) -> dict:
    return {m.key: m.value for m in checkpoint.measurements.all()}


@pytest.mark.django_db
def test_it_measures_a_session_from_start_to_a_later_checkpoint(project, package_with_venv):
    package = package_with_venv
    root = str(package.root)
    out, err = run(root, "--project", "alpha", "--session", "s-1", "--kind", "start", "--run-tools")
    session = Session.objects.get(project=project, external_id="s-1")
    start = Checkpoint.objects.get(session=session)
    assert start.kind == "start"
    assert session.start_commit == start.commit == package.git("rev-parse", "HEAD")
    assert out.startswith(f"# Alpha: Start checkpoint #{start.pk}\n")
    assert "[" in err and "ruff" in err and "storing the checkpoint" in err
    assert "pytest: 100 % of the tests run" in err
    got = values(start)
    assert (got["tests.total"], got["tests.failed"], got["tests.created"]) == (3, 1, 0)
    assert got["security.findings.high"] == 1 and got["complexity.max"] == 16
    assert start.gate_verdict == "failed"
    assert start.score_total is not None and start.points_measured == 100

    package.commit(
        "test: grade",
        {"tests/test_grade.py": GRADE_TEST},
    )
    out, _ = run(root, "--project", "alpha", "--session", "s-1", "--run-tools", "--format", "json")
    later = Checkpoint.objects.exclude(pk=start.pk).get(session=session)
    assert later.kind == "manual"
    report = json.loads(out)
    assert report["checkpoint"] == later.pk
    assert set(report) >= {
        "score",
        "parts",
        "stars",
        "label",
        "gates",
        "measurements",
        "recommendations",
    }
    m = report["measurements"]
    assert m["tests.created"]["value"] == 1
    assert m["git.commits_since_start"]["value"] == 1
    assert m["git.files_created"]["value"] == 1
    assert m["git.lines_added"]["value"] == 5
    assert m["coverage.line_percent"]["value"] > values(start)["coverage.line_percent"]
    assert m["coverage.line_percent"]["source"]["tool"] == "coverage.py (json)"
    assert m["services.up"] == {
        "value": None,
        "unit": "count",
        "reason": "no health endpoints configured ([tool.cairn.services])",
        "source": m["services.up"]["source"],
    }
    assert report["score"] == later.score_total
    assert report["stars"] == later.stars


@pytest.mark.django_db
def test_it_ends_the_session_at_an_end_checkpoint(project, package):
    root = str(package.root)
    run(root, "--project", "alpha", "--session", "s-end", "--kind", "start")
    session = Session.objects.get(project=project, external_id="s-end")
    assert session.status == Session.ACTIVE
    package.commit("feat: more", {"calc/more.py": "X = 1\n"})
    run(root, "--project", "alpha", "--session", "s-end", "--kind", "end")
    end = Checkpoint.objects.get(session=session, kind="end")
    session.refresh_from_db()
    assert session.status == Session.ENDED
    assert session.ended_at == end.created_at
    assert session.end_commit == end.commit == package.git("rev-parse", "HEAD")


@pytest.mark.django_db
def test_it_renders_the_same_report_from_stored_data(project, package):
    out, _ = run(
        str(package.root), "--project", "alpha",
        "--junit", str(DATA / "junit/pytest/junit.fail.xml"),
        "--coverage", str(DATA / "coverage/labrea.coverage.xml"),
    )  # fmt: skip
    checkpoint = Checkpoint.objects.get(project=project)
    assert checkpoint.session is None and checkpoint.kind == "manual"
    again = Checkpoint.objects.get(pk=checkpoint.pk)
    assert render_markdown(report_data(again)) == out
    assert render_json(report_data(again)) == render_json(report_data(checkpoint))
    got = values(checkpoint)
    assert got["tests.total"] == 5 and got["tests.failed"] == 1 and got["tests.skipped"] == 1
    assert got["coverage.statements"] == 2017 and got["coverage.covered"] == 1910
    assert got["lint.findings"] is None  # tools not run: not measured, never 0
    assert "- **Test coverage**: 94.7 %" in out
    assert "- **Tests**: 3/5 passing (1 failed, 0 errors, 1 skipped) in 21.9 s" in out
    assert "- **Lint**: not measured — no artefact given and tools were not run" in out
    assert "| Tests created | not measured |" in out


@pytest.mark.django_db
def test_it_exits_2_on_a_failed_gate_when_asked(project, package):
    junit = str(DATA / "junit/pytest/junit.fail.xml")
    with pytest.raises(CommandError, match="Quality gate failed: tests.failed") as exc:
        run(str(package.root), "--project", "alpha", "--junit", junit, "--fail-on-gate")
    assert exc.value.returncode == 2
    assert Checkpoint.objects.filter(project=project, gate_verdict="failed").count() == 1
    passing = str(DATA / "junit/pytest/junit.mpi.integration.xml")
    run(str(package.root), "--project", "alpha", "--junit", passing, "--fail-on-gate")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--project", "nope"], "No project with slug 'nope'."),
        (
            ["--project", "alpha", "--junit", "/nonexistent.xml"],
            "--junit /nonexistent.xml: no such file",
        ),
        (
            ["--project", "alpha", "--session", "s" * 201],
            "--session: at most 200 characters",
        ),
        (
            ["--project", "alpha", "--run-tools", "--python", "/nowhere/bin/python"],
            "--python /nowhere/bin/python: no such file",
        ),
    ],
)
def test_it_refuses_bad_arguments_and_stores_nothing(project, package, args, message):
    with pytest.raises(CommandError, match=message):
        run(str(package.root), *args)
    assert not Checkpoint.objects.exists()


@pytest.mark.django_db
def test_it_refuses_a_bad_gate_configuration_before_measuring(project, package):
    project.gate_config = [{"metric": "tests.failed", "op": "=<", "threshold": 0}]
    project.save()
    with pytest.raises(CommandError, match="Project 'alpha': condition 0: op must be"):
        run(str(package.root), "--project", "alpha", "--session", "s-9")
    assert not Checkpoint.objects.exists() and not Session.objects.exists()


@pytest.mark.django_db
def test_it_applies_the_projects_gate_and_a_broken_artefact_stays_not_measured(
    project, package, tmp_path
):
    project.gate_config = [{"metric": "tests.total", "op": ">=", "threshold": 1}]
    project.save()
    truncated = tmp_path / "junit.xml"
    truncated.write_bytes((DATA / "junit/pytest/junit.fail.xml").read_bytes()[:500])
    run(str(package.root), "--project", "alpha", "--junit", str(truncated))
    checkpoint = Checkpoint.objects.get(project=project)
    assert checkpoint.gate_verdict == ""
    assert checkpoint.gate_results[0]["status"] == "not measured"
    total = checkpoint.measurements.get(key="tests.total")
    assert total.value is None and total.reason.startswith("ParseError: ")


@pytest.mark.django_db
def test_an_unknown_session_is_refused_unless_started_explicitly(project, package):
    root = str(package.root)
    with pytest.raises(CommandError, match="--session 999999: no such session .* --kind start"):
        run(root, "--project", "alpha", "--session", "999999")
    assert not Session.objects.exists() and not Checkpoint.objects.exists()
    _, err = run(root, "--project", "alpha", "--session", "999999", "--kind", "start")
    assert "session 999999: started" in err
    session = Checkpoint.objects.get().session
    assert session is not None and session.external_id == "999999"


@pytest.mark.django_db
def test_a_folder_outside_git_is_refused_not_scored_zero(project, tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    with pytest.raises(CommandError, match="not inside a git work tree"):
        run(str(tmp_path), "--project", "alpha")
    assert not Checkpoint.objects.exists()


@pytest.mark.django_db
def test_an_unreadable_artefact_is_named_on_stderr(project, package, tmp_path):
    corrupt = tmp_path / "junit.xml"
    corrupt.write_bytes(b"this is not xml")
    not_ruff = tmp_path / "ruff.json"
    not_ruff.write_text('{"results": []}')
    args = ["--junit", str(corrupt), "--ruff", str(not_ruff)]
    _, err = run(str(package.root), "--project", "alpha", *args)
    assert f"warning: --junit {corrupt}: not read: " in err
    assert f"warning: --ruff {not_ruff}: not read: not ruff JSON output" in err
    good = str(DATA / "junit/pytest/junit.fail.xml")
    _, err = run(str(package.root), "--project", "alpha", "--junit", good)
    assert "warning" not in err
