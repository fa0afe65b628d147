"""Files, source, secrets and the real tools (ruff, bandit, radon, mypy, coverage under pytest)
on a small real Python package."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from quality.collectors import filesystem, secrets, source, tools
from quality.collectors.files import project_files
from quality.measure import Artefacts, measure


def values(readings) -> dict:
    return {r.key: r.value for r in readings}


def test_it_measures_layout_size_and_litter_without_deleting(package):
    package.write("calc/__pycache__/core.cpython-311.pyc", "x" * 100)
    package.write("dist/calc-0.1.tar.gz", "y" * 50)
    package.write(".venv/lib/big.py", "z" * 1000)  # an environment: counted in size, not litter
    got = values(filesystem.collect(project_files(package.root)))
    tracked = package.git("ls-files").split()
    assert got["fs.tracked_files"] == len(tracked) == 9
    assert got["fs.project_bytes"] == sum((package.root / p).stat().st_size for p in tracked)
    assert got["fs.cleanup_candidates"] == 2
    assert got["fs.cleanup_bytes"] == 150
    assert got["fs.total_bytes"] == got["fs.project_bytes"] + 1150
    assert (package.root / "dist/calc-0.1.tar.gz").exists()
    assert got["docs.readme"] == 1 and got["docs.pages"] == 1
    assert got["project.has_pyproject"] == 1 and got["project.has_lockfile"] == 1
    assert got["project.ci_files"] == 0
    assert got["tests.test_files"] == 1 and got["tests.has_conftest"] == 0
    assert got["security.env_ignored"] == 1


def test_it_measures_docstrings_and_annotations_from_the_source(package):
    got = values(source.collect(project_files(package.root)))
    # calc/__init__ module, calc/core module, add, sign, shell, grade: all but sign documented
    assert got["docs.docstring_percent"] == pytest.approx(100 * 5 / 6)
    # add 3/3, sign 0/2, shell 2/2, grade 2/2
    assert got["types.annotation_percent"] == pytest.approx(100 * 7 / 9)


def test_it_finds_secrets_in_tracked_files_only(package):
    package.commit(
        "oops", {"settings.py": 'API_KEY = "sk_live_abcdefghijkl"\nPASSWORD = "changeme"\n'}
    )
    package.write(".venv/lib/creds.py", 'password = "hunter2hunter2"\n')  # not tracked
    readings = secrets.collect(project_files(package.root))
    assert readings[0].value == 1
    assert readings[0].detail["hits"] == [{"file": "settings.py", "line": 1, "kind": "assignment"}]
    assert "sk_live" not in json.dumps(readings[0].detail)


def test_it_runs_the_real_tools(package):
    root = package.root
    ruff = values(tools.collect_ruff(root, run=True))
    assert ruff["lint.findings"] >= 1
    bandit = tools.collect_bandit(root, run=True)
    assert values(bandit)["security.findings.high"] == 1  # shell=True
    assert bandit[0].detail["high"][0]["test_id"] == "B602"
    assert bandit[0].source.tool_version == tools.package_version("bandit")
    radon = tools.collect_radon(root, run=True)
    assert values(radon)["complexity.max"] == 16
    assert values(radon)["complexity.over_15"] == 1
    assert radon[0].detail["worst"][0]["name"] == "grade"
    mypy = values(tools.collect_mypy(root, run=True))
    assert mypy["types.errors"] == 0


def test_it_reads_tool_artefacts_and_refuses_bad_ones(package, tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--output-format", "json", "--exit-zero", "."],
        cwd=package.root,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    (tmp_path / "ruff.json").write_text(out)
    from_file = values(tools.collect_ruff(package.root, artefact=tmp_path / "ruff.json"))
    assert from_file == values(tools.collect_ruff(package.root, run=True))
    (tmp_path / "bad.json").write_text('{"results": 3}')
    bad = tools.collect_bandit(package.root, artefact=tmp_path / "bad.json")
    assert bad[0].value is None and bad[0].reason == "not bandit JSON output: no `results` list"
    not_run = tools.collect_radon(package.root)
    assert not_run[0].reason == tools.NOT_RUN


def test_it_assigns_ruff_severities_by_longest_prefix():
    assert tools.ruff_severity("F401") == "high"
    assert tools.ruff_severity("E999") == "high"
    assert tools.ruff_severity("E501") == "low"
    assert tools.ruff_severity("SIM108") == "medium"
    assert tools.ruff_severity(None) == "high"


def test_it_measures_a_package_end_to_end_with_tests_under_coverage(package_with_venv):
    package = package_with_venv
    start = package.git("rev-list", "--max-parents=0", "HEAD")
    result = measure(package.root, run_tools=True, start_commit=start)
    got = {r.key: r.value for r in result.readings}
    tests_source = result.by_key()["tests.total"].source
    assert tests_source.artefact == ".venv/bin/python -m coverage run -m pytest"
    assert got["tests.total"] == 3
    assert got["tests.failed"] == 1
    assert got["tests.passed"] == 2
    statements, percent = got["coverage.statements"], got["coverage.line_percent"]
    assert statements is not None and statements > 0
    assert percent is not None and 0 < percent < 100
    assert got["git.commits_since_start"] == 1
    assert result.git.branch == "main"
    assert got["services.up"] is None


def test_it_says_not_measured_for_every_tool_without_artefacts(package):
    result = measure(package.root, artefacts=Artefacts())
    by_key = result.by_key()
    for key in ("coverage.line_percent", "tests.total", "lint.findings", "complexity.max"):
        assert by_key[key].value is None
        assert by_key[key].reason == tools.NOT_RUN


def test_it_gets_the_same_source_figures_in_worker_processes(package, monkeypatch):
    files = project_files(package.root)
    serial = values(source.collect(files))
    monkeypatch.setattr(source, "PARALLEL_MIN_BYTES", 0)
    assert values(source.collect(files)) == serial


@pytest.mark.parametrize(
    ("collect", "content", "reason"),
    [
        (tools.collect_ruff, b'[{"no_code": 1}]', "not ruff JSON output"),
        (tools.collect_radon, b'{"a.py": [{"type": "function"}]}', "not radon output: KeyError"),
        (tools.collect_bandit, b'{"results": [3]}', "not bandit output: AttributeError"),
        (tools.collect_mypy, b"not json\n", "not mypy JSON lines"),
    ],
)
def test_it_reports_tool_output_of_the_wrong_shape(tmp_path, collect, content, reason):
    path = tmp_path / "out.json"
    path.write_bytes(content)
    readings = collect(tmp_path, artefact=path)
    assert all(r.value is None for r in readings)
    assert readings[0].reason.startswith(reason)
