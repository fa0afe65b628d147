"""Measure a repository: run every collector over it and return all readings."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from quality.collectors import coverage, filesystem, junit, secrets, services, source, tools
from quality.collectors import git as git_collector
from quality.collectors.base import Reading, Source, ToolError, not_measured, python_tool, run_tool
from quality.collectors.files import ProjectFiles, project_files
from quality.collectors.git import GitInfo

TEST_RUN_TIMEOUT_S = 900.0


@dataclass
class Artefacts:
    """Files the user already has; each replaces running the matching tool."""

    coverage: Path | None = None
    junit: Path | None = None
    ruff: Path | None = None
    bandit: Path | None = None
    radon: Path | None = None
    mypy: Path | None = None


@dataclass
class Result:
    readings: list[Reading]
    git: GitInfo = field(default_factory=GitInfo)

    def by_key(self) -> dict[str, Reading]:
        return {r.key: r for r in self.readings}


def _quiet(message: str) -> None:
    pass


def measure(
    root: Path | str,
    *,
    artefacts: Artefacts | None = None,
    run_tools: bool = False,
    start_commit: str = "",
    service_urls: dict[str, str] | None = None,
    progress: Callable[[str], None] = _quiet,
) -> Result:
    """Every collector over `root`. Tools run only with `run_tools`; given artefacts win."""
    root = Path(root).resolve()
    artefacts = artefacts or Artefacts()
    readings: list[Reading] = []
    progress("git")
    git_readings, info = git_collector.collect(root, start_commit=start_commit)
    readings += git_readings
    progress("files")
    files = project_files(root)
    readings += _guarded(filesystem.collect, files, filesystem.KEYS)
    progress("source: docstrings and annotations")
    readings += _guarded(source.collect, files, source.KEYS)
    progress("secret scan")
    readings += _guarded(secrets.collect, files, secrets.KEYS)
    progress("coverage and tests")
    with tempfile.TemporaryDirectory(prefix="cairn-tests-") as tmp:
        coverage_file, junit_file = artefacts.coverage, artefacts.junit
        if run_tools and (coverage_file is None or junit_file is None):
            progress("tests under coverage (pytest)")
            coverage_run, junit_run = _run_tests(root, Path(tmp))
            coverage_file = coverage_file or coverage_run
            junit_file = junit_file or junit_run
        missing = "the test run wrote no report" if run_tools else tools.NOT_RUN
        readings += _artefact(coverage.collect, coverage_file, coverage.KEYS, root, missing)
        readings += _artefact(junit.collect, junit_file, junit.KEYS, root, missing)
    for name, collect in (
        ("ruff", tools.collect_ruff),
        ("bandit", tools.collect_bandit),
        ("radon", tools.collect_radon),
        ("mypy", tools.collect_mypy),
    ):
        progress(name)
        readings += collect(root, artefact=getattr(artefacts, name), run=run_tools)
    progress("services")
    urls = services.configured(root) if service_urls is None else service_urls
    readings += services.collect(urls)
    return Result(readings=readings, git=info)


def _guarded(
    collect: Callable[[ProjectFiles], list[Reading]], files: ProjectFiles, keys: tuple[str, ...]
) -> list[Reading]:
    """A file collector's readings; an unreadable tree makes its keys not measured, not a crash."""
    try:
        return collect(files)
    except (OSError, ValueError) as exc:
        source = Source(tool=collect.__module__.rsplit(".", 1)[-1], artefact=str(files.root))
        return not_measured(keys, source, f"{type(exc).__name__}: {exc}")


def _artefact(
    collect: ArtefactReader, path: Path | None, keys: tuple[str, ...], root: Path, missing: str
) -> list[Reading]:
    if path is None:
        return not_measured(keys, Source(tool=keys[0].split(".")[0]), missing)
    return collect(path, root=root)


def _run_tests(root: Path, tmp: Path) -> tuple[Path | None, Path | None]:
    """Run the project's pytest suite under coverage.py with Cairn's interpreter.

    Returns the coverage JSON and JUnit paths that were written (None for one that was not).
    A project that needs its own environment should pass --coverage/--junit from its own run.
    """
    data, report, xml = tmp / ".coverage", tmp / "coverage.json", tmp / "junit.xml"
    coverage_run = [*python_tool("coverage"), "run", "--branch", f"--data-file={data}"]
    pytest_args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={xml}"]
    try:
        run_tool([*coverage_run, *pytest_args], cwd=root, timeout=TEST_RUN_TIMEOUT_S)
        if data.exists():
            run_tool(
                [*python_tool("coverage"), "json", f"--data-file={data}", "-o", str(report)],
                cwd=root,
                timeout=120,
            )
    except ToolError:
        pass  # what was not written is then "not measured" with the reader's reason
    return (report if report.exists() else None, xml if xml.exists() else None)


ArtefactReader = Callable[..., list[Reading]]
ARTEFACT_COLLECTORS: dict[str, tuple[ArtefactReader, tuple[str, ...]]] = {
    "coverage": (coverage.collect_without_sources, coverage.KEYS),
    "junit": (junit.collect, junit.KEYS),
    "ruff": (lambda path, root: tools.collect_ruff(root, artefact=path), tools.RUFF_KEYS),
    "bandit": (lambda path, root: tools.collect_bandit(root, artefact=path), tools.BANDIT_KEYS),
    "radon": (lambda path, root: tools.collect_radon(root, artefact=path), tools.RADON_KEYS),
    "mypy": (lambda path, root: tools.collect_mypy(root, artefact=path), tools.MYPY_KEYS),
}


def measure_artefacts(artefacts: Artefacts, *, root: Path, missing: str) -> list[Reading]:
    """Readings from artefacts alone (a CI upload: no repository to look at). Kinds not given
    are not measured, with `missing` as the reason."""
    readings: list[Reading] = []
    for name, (collect, keys) in ARTEFACT_COLLECTORS.items():
        path = getattr(artefacts, name)
        if path is None:
            readings += not_measured(keys, Source(tool=name), missing)
        else:
            readings += collect(path, root=root)
    return readings
