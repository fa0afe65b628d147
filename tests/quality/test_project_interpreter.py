"""pytest runs under coverage with the measured repository's own interpreter (its .venv/ or
venv/, or --python), which has the project's dependencies; without one, or with one that lacks
pytest or coverage, tests and coverage are not measured and the reason says why."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from quality.measure import Artefacts, measure_tests
from tests.repos import link_venv, make_venv
from tracking.models import Checkpoint

RUN = "-m coverage run -m pytest"


def by_key(readings) -> dict:
    return {r.key: r for r in readings}


def test_it_runs_the_tests_with_the_repositorys_venv_directory(package, project_python):
    link_venv(package, project_python, name="venv")
    got = by_key(measure_tests(package.root, artefacts=Artefacts(), run_tools=True))
    assert (got["tests.total"].value, got["tests.failed"].value) == (3, 1)
    assert got["coverage.line_percent"].measured
    assert got["tests.total"].source.artefact == f"venv/bin/python {RUN}"
    assert got["coverage.line_percent"].source.artefact == f"venv/bin/python {RUN}"


def test_it_runs_the_tests_with_the_interpreter_given(package, project_python):
    got = by_key(
        measure_tests(package.root, artefacts=Artefacts(), run_tools=True, python=project_python)
    )
    assert got["tests.passed"].value == 2
    assert got["coverage.statements"].source.artefact == f"{project_python} {RUN}"


def test_it_does_not_run_pytest_without_an_environment_of_the_repositorys(package):
    readings = measure_tests(package.root, artefacts=Artefacts(), run_tools=True)
    assert readings and all(r.value is None for r in readings)
    reason = readings[0].reason
    assert reason.startswith("pytest not run: the repository has no .venv/bin/python or ")
    assert "--python" in reason
    assert {r.reason for r in readings} == {reason}


def test_it_says_so_when_the_interpreter_lacks_coverage(package, tmp_path):
    bare = make_venv(tmp_path / "bare")  # neither pytest nor coverage installed
    readings = measure_tests(package.root, artefacts=Artefacts(), run_tools=True, python=bare)
    assert all(r.value is None for r in readings)
    reason = readings[0].reason
    assert reason.startswith(f"pytest not run: {bare} cannot run pytest under coverage (")
    assert "No module named 'coverage'" in reason


def test_a_given_artefact_keeps_its_own_source(package, project_python, tmp_path):
    link_venv(package, project_python)
    junit = tmp_path / "junit.xml"
    junit.write_text('<testsuite><testcase classname="t" name="a"/></testsuite>')
    got = by_key(measure_tests(package.root, artefacts=Artefacts(junit=junit), run_tools=True))
    assert got["tests.total"].value == 1
    assert got["tests.total"].source.artefact == str(junit)
    assert got["coverage.line_percent"].source.artefact == f".venv/bin/python {RUN}"


@pytest.mark.django_db
def test_the_checkpoint_command_passes_python_through(project, package, project_python):
    out, err = io.StringIO(), io.StringIO()
    args = [str(package.root), "--project", "alpha", "--run-tools", "--python", project_python]
    call_command("checkpoint", *map(str, args), stdout=out, stderr=err)
    stored = Checkpoint.objects.get().measurements.get(key="tests.total")
    assert (stored.value, stored.artefact) == (3, f"{project_python} {RUN}")
