"""Measure a repository: run every collector over it and return all readings."""

from __future__ import annotations

import dataclasses
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from quality.collectors import coverage, filesystem, junit, secrets, services, source, tools
from quality.collectors import git as git_collector
from quality.collectors.base import (
    Reading,
    Source,
    ToolError,
    not_measured,
    run_tool,
)
from quality.collectors.files import ProjectFiles, project_files
from quality.collectors.git import GitInfo

TEST_RUN_TIMEOUT_S = 900.0
# Where a repository keeps its own environment, in the order looked for.
PROJECT_ENVIRONMENTS = (".venv", "venv")


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
    python: Path | str | None = None,
    progress: Callable[[str], None] = _quiet,
) -> Result:
    """Every collector over `root`. Tools run only with `run_tools`; given artefacts win.

    pytest runs with the project's interpreter (`python`, else the repository's own `.venv/`
    or `venv/`), which has the project's dependencies; the analysers run from Cairn's."""
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
    readings += measure_tests(
        root, artefacts=artefacts, run_tools=run_tools, python=python, progress=progress
    )
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


def measure_tests(
    root: Path,
    *,
    artefacts: Artefacts,
    run_tools: bool,
    python: Path | str | None = None,
    progress: Callable[[str], None] = _quiet,
) -> list[Reading]:
    """coverage.* and tests.*: from the artefacts given, else (with `run_tools`) from a pytest
    run under coverage with the project's interpreter, else not measured with the reason."""
    readings: list[Reading] = []
    with tempfile.TemporaryDirectory(prefix="cairn-tests-") as tmp:
        coverage_file, junit_file = artefacts.coverage, artefacts.junit
        missing, ran = tools.NOT_RUN, ""
        if run_tools and (coverage_file is None or junit_file is None):
            progress("tests under coverage (pytest)")
            try:
                interpreter = _test_interpreter(root, python)
                ran = f"{_shown(interpreter, root)} -m coverage run -m pytest"
                coverage_run, junit_run = _run_tests(root, Path(tmp), interpreter, progress)
                missing = f"the test run ({ran}) wrote no report"
            except ToolError as exc:
                coverage_run = junit_run = None
                missing = str(exc)
            coverage_file = coverage_file or coverage_run
            junit_file = junit_file or junit_run
        for collect, path, keys, given in (
            (coverage.collect, coverage_file, coverage.KEYS, artefacts.coverage),
            (junit.collect, junit_file, junit.KEYS, artefacts.junit),
        ):
            found = _artefact(collect, path, keys, root, missing)
            if ran and given is None:
                # The report lay in a temporary folder: record the run that wrote it instead.
                found = [_ran_by(r, ran) for r in found]
            readings += found
    return readings


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


def project_python(root: Path, python: Path | str | None = None) -> Path | None:
    """The interpreter for the project's tests: `python` when given, else the repository's own
    environment; None when it has none. Symlinks are kept: a venv's python is one, and only
    through its own path does it find the venv's packages."""
    if python is not None:
        return Path(python).absolute()
    for name in PROJECT_ENVIRONMENTS:
        candidate = root / name / "bin" / "python"
        if candidate.is_file():
            return candidate
    return None


def _test_interpreter(root: Path, python: Path | str | None) -> Path:
    """The interpreter that will run pytest under coverage; ToolError, whose message becomes
    the not-measured reason, when there is none fit for it."""
    found = project_python(root, python)
    if found is None:
        where = " or ".join(f"{name}/bin/python" for name in PROJECT_ENVIRONMENTS)
        raise ToolError(
            f"pytest not run: the repository has no {where} and no --python was given "
            "(Cairn's own interpreter lacks the project's dependencies)"
        )
    try:
        check = run_tool([str(found), "-c", "import coverage, pytest"], cwd=root, timeout=60)
    except (ToolError, OSError) as exc:  # not there, not executable, or hanging
        raise ToolError(f"pytest not run: {exc}") from None
    if check.returncode != 0:
        error = (check.stderr.strip().splitlines() or ["exit " + str(check.returncode)])[-1]
        raise ToolError(
            f"pytest not run: {found} cannot run pytest under coverage ({error}); "
            "install pytest and coverage into that environment"
        )
    return found


def _shown(path: Path, root: Path) -> str:
    """An interpreter as recorded: relative to the repository when inside it (not resolved,
    which would follow the venv's symlink out of it)."""
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _run_tests(
    root: Path, tmp: Path, python: Path, progress: Callable[[str], None] = _quiet
) -> tuple[Path | None, Path | None]:
    """Run the project's pytest suite under coverage.py with the project's interpreter, telling
    `progress` how far it got (pytest's own "[ 42%]" at the end of each line of dots).

    Returns the coverage JSON and JUnit paths that were written (None for one that was not).
    """
    data, report, xml = tmp / ".coverage", tmp / "coverage.json", tmp / "junit.xml"
    coverage_tool = [str(python), "-m", "coverage"]
    coverage_run = [*coverage_tool, "run", "--branch", f"--data-file={data}"]
    pytest_args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={xml}"]
    try:
        run_tool(
            [*coverage_run, *pytest_args],
            cwd=root,
            timeout=TEST_RUN_TIMEOUT_S,
            on_line=pytest_progress(progress),
        )
        if data.exists():
            run_tool(
                [*coverage_tool, "json", f"--data-file={data}", "-o", str(report)],
                cwd=root,
                timeout=120,
            )
    except ToolError:
        pass  # what was not written is then "not measured" with the reader's reason
    return (report if report.exists() else None, xml if xml.exists() else None)


PYTEST_PERCENT = re.compile(r"\[\s*(\d{1,3})%\]\s*$")


def pytest_progress(progress: Callable[[str], None]) -> Callable[[str], None]:
    """A line reader for `pytest -q` output that reports each new percentage of tests run."""
    last = -1

    def on_line(line: str) -> None:
        nonlocal last
        match = PYTEST_PERCENT.search(line)
        if match and int(match[1]) != last:
            last = int(match[1])
            progress(f"pytest: {last} % of the tests run")

    return on_line


def _ran_by(reading: Reading, command: str) -> Reading:
    """A reading from the test run, its artefact the command that produced it."""
    return dataclasses.replace(
        reading, source=dataclasses.replace(reading.source, artefact=command)
    )


ArtefactReader = Callable[..., list[Reading]]
ARTEFACT_COLLECTORS: dict[str, tuple[ArtefactReader, tuple[str, ...]]] = {
    "coverage": (coverage.collect_without_sources, coverage.KEYS),
    "junit": (junit.collect, junit.KEYS),
    "ruff": (lambda path, root: tools.collect_ruff(root, artefact=path), tools.RUFF_KEYS),
    "bandit": (lambda path, root: tools.collect_bandit(root, artefact=path), tools.BANDIT_KEYS),
    "radon": (lambda path, root: tools.collect_radon(root, artefact=path), tools.RADON_KEYS),
    "mypy": (lambda path, root: tools.collect_mypy(root, artefact=path), tools.MYPY_KEYS),
}


def unread_artefacts(
    given: dict[str, Path], not_measured: dict[str, str]
) -> list[tuple[str, Path, str]]:
    """(kind, path, reason) of each artefact given whose figures were all not measured: a file
    the user named that could not be read must not pass silently. `not_measured` maps the keys
    that were not measured to their reasons."""
    unread = []
    for name, path in given.items():
        keys = ARTEFACT_COLLECTORS[name][1]
        if all(key in not_measured for key in keys):
            unread.append((name, path, not_measured[keys[0]]))
    return unread


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
