"""`manage.py import_crackerjack`: run folders become invocations and a checkpoint, once."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from integrations.crackerjack.models import CrackerjackRun
from tests.fixtures import CRACKERJACK
from tracking.models import Measurement, Session, SkillHourly, SkillInvocation

pytestmark = pytest.mark.django_db
RUN = "20261125-101500-a1b2"


def run_import(path, slug="alpha") -> str:
    out = StringIO()
    call_command("import_crackerjack", str(path), "--project", slug, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_each_hook_is_an_invocation_with_its_phase_duration_and_issues(project):
    run_import(CRACKERJACK / "project")
    rows = {
        i.skill: i
        for i in SkillInvocation.objects.filter(
            project=project, session__external_id=f"crackerjack:{RUN}"
        )
    }
    # skylos was skipped: it did not run. The tests phase sent no hooks: one invocation.
    assert set(rows) == {
        "ruff-format", "ruff-check", "codespell", "zuban", "bandit", "complexipy",
        "crackerjack:tests",
    }  # fmt: skip
    assert (rows["ruff-check"].phase, rows["ruff-check"].duration_s) == ("setup", 1.4)
    assert (rows["ruff-check"].completed, rows["ruff-check"].error_type) == (False, "issues:3")
    assert (rows["bandit"].phase, rows["bandit"].error_type) == ("verification", "issues:2")
    assert (rows["complexipy"].completed, rows["complexipy"].error_type) == (False, "timeout")
    assert (rows["zuban"].completed, rows["zuban"].duration_s) == (True, 12.5)
    assert (rows["crackerjack:tests"].phase, rows["crackerjack:tests"].duration_s) == (
        "execution",
        41.2,
    )
    assert {i.source for i in rows.values()} == {"crackerjack"}
    assert rows["zuban"].invoked_at == datetime(2026, 11, 25, 10, 15, tzinfo=UTC)
    session = Session.objects.get(external_id=f"crackerjack:{RUN}")
    # 4.8 + 38.75 + 41.2 s after the start
    assert session.ended_at == datetime(2026, 11, 25, 10, 15, tzinfo=UTC) + timedelta(seconds=84.75)


def test_the_run_is_a_checkpoint_measured_from_its_gate_report(project):
    run_import(CRACKERJACK / "project")
    run = CrackerjackRun.objects.get(project=project, run_id=RUN)
    assert run.gate_passed is False and run.source == "import"
    values = {m.key: m.value for m in Measurement.objects.filter(checkpoint=run.checkpoint)}
    assert values["coverage.line_percent"] == 87.5
    assert values["crackerjack.gate_passed"] == 0.0
    assert (values["crackerjack.checks_passed"], values["crackerjack.checks_failed"]) == (2, 2)
    assert values["crackerjack.required_failures"] == 1
    assert (values["crackerjack.hooks_failed"], values["crackerjack.hook_issues"]) == (3, 5)
    coverage = Measurement.objects.get(checkpoint=run.checkpoint, key="coverage.line_percent")
    assert coverage.tool == "crackerjack" and RUN in coverage.artefact
    assert run.checkpoint is not None
    assert run.checkpoint.commit == "d6fde92930d4715a2b49857d24b940956b26d2d3"


def test_a_run_without_a_gate_report_has_coverage_not_measured(project):
    run_import(CRACKERJACK / "project")
    run = CrackerjackRun.objects.get(run_id="20261126-090000-c3d4")
    coverage = Measurement.objects.get(checkpoint=run.checkpoint, key="coverage.line_percent")
    assert coverage.value is None and "no quality-gate report" in coverage.reason


def test_importing_twice_adds_nothing(project):
    first = run_import(CRACKERJACK / "project")
    assert "2 runs stored" in first
    counts = (SkillInvocation.objects.count(), Measurement.objects.count())
    hourly = list(SkillHourly.objects.order_by("pk").values_list("invocations", flat=True))
    second = run_import(CRACKERJACK / "project")
    assert "0 runs stored, 2 already known" in second
    assert (SkillInvocation.objects.count(), Measurement.objects.count()) == counts
    assert list(SkillHourly.objects.order_by("pk").values_list("invocations", flat=True)) == hourly
    assert CrackerjackRun.objects.count() == 2


def test_a_cut_off_line_is_refused_with_its_line_and_the_others_are_stored(project, tmp_path):
    shutil.copytree(CRACKERJACK / "project", tmp_path / "p")
    shutil.copytree(
        CRACKERJACK / "broken" / ".crackerjack" / "runs" / "bad-run",
        tmp_path / "p" / ".crackerjack" / "runs" / "bad-run",
    )
    err = StringIO()
    with pytest.raises(CommandError, match="1 run folder"):
        call_command(
            "import_crackerjack",
            str(tmp_path / "p"),
            "--project",
            "alpha",
            stdout=StringIO(),
            stderr=err,
        )
    assert "events.jsonl:2" in err.getvalue()
    assert (
        CrackerjackRun.objects.count() == 2
        and not CrackerjackRun.objects.filter(run_id="bad-run").exists()
    )


def test_a_bad_field_is_named(project, tmp_path):
    folder = tmp_path / "runs" / "r1"
    folder.mkdir(parents=True)
    (folder / "events.jsonl").write_text(
        '{"kind":"run_started","run_id":"r1","iteration":0,"ts":"2026-11-25T10:15:00+00:00"}\n'
        '{"kind":"phase_changed","run_id":"r1","phase":"slow_hooks","status":"passed"}\n'
    )
    err = StringIO()
    with pytest.raises(CommandError):
        call_command(
            "import_crackerjack", str(folder), "--project", "alpha", stdout=StringIO(), stderr=err
        )
    assert "phases[0].phase" in err.getvalue()
    assert not SkillInvocation.objects.exists()


def test_an_unknown_project_or_folder_fails(project, tmp_path):
    with pytest.raises(CommandError, match="No project"):
        run_import(CRACKERJACK / "project", slug="nope")
    with pytest.raises(CommandError, match="no .crackerjack/runs"):
        run_import(tmp_path / "missing")
