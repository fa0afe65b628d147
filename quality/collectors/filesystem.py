"""Project size, cleanup candidates, and what the file layout says (packaging, docs, tests, CI).

Counts only: nothing here deletes anything, and coverage artefacts are never cleanup candidates
because a checkpoint may be about to read them.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path, PurePosixPath

from quality.collectors.base import (
    LOCKFILES,
    Reading,
    Source,
    ToolError,
    measured,
    not_measured,
    run_tool,
)
from quality.collectors.files import NOT_LITTER_DIRS, ProjectFiles, is_test_module

LITTER_DIRS = {
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
    "htmlcov",
    ".tox",
    ".nox",
    "build",
    "dist",
}
LITTER_DIR_SUFFIXES = (".egg-info",)
LITTER_FILES = ("*.pyc", "*.pyo", ".DS_Store", "*.swp", "*~", "Thumbs.db")
DOC_SUFFIXES = (".md", ".rst", ".txt")


KEYS = (
    "fs.project_bytes", "fs.tracked_files", "fs.python_lines", "fs.total_bytes",
    "fs.cleanup_candidates", "fs.cleanup_bytes", "docs.readme", "docs.pages",
    "project.has_pyproject", "project.has_lockfile", "project.ci_files", "tests.test_files",
    "tests.has_conftest", "security.env_ignored",
)  # fmt: skip


def collect(files: ProjectFiles) -> list[Reading]:
    """Readings for `fs.*`, `project.*`, `docs.readme`, `docs.pages`, `tests.test_files` and
    `tests.has_conftest`, `security.env_ignored`."""
    root = files.root
    listing = Source(
        tool="git ls-files" if files.tracked else "filesystem walk",
        tool_version=files.git_version,
        artefact=str(root),
    )
    readings: list[Reading] = []
    tracked_bytes = python_lines = 0
    for rel in files.paths:
        path = root / rel
        try:
            tracked_bytes += path.lstat().st_size
        except OSError:
            continue
        if rel.endswith(".py"):
            python_lines += _nonblank_lines(path)
    if files.tracked:
        readings += [
            measured("fs.project_bytes", tracked_bytes, listing),
            measured("fs.tracked_files", len(files.paths), listing),
        ]
    else:
        readings += not_measured(
            ("fs.project_bytes", "fs.tracked_files"), listing, "not a git work tree"
        )
    readings.append(measured("fs.python_lines", python_lines, listing))
    walk = Source(tool="filesystem walk", artefact=str(root))
    total, litter_count, litter_bytes, examples = _walk(root, set(files.paths))
    readings += [
        measured("fs.total_bytes", total, walk),
        measured("fs.cleanup_candidates", litter_count, walk, examples=examples),
        measured("fs.cleanup_bytes", litter_bytes, walk),
    ]
    readings += _layout(files, listing)
    readings += _env_ignored(files)
    return readings


def _nonblank_lines(path: Path) -> int:
    try:
        data = path.read_bytes()
    except OSError:
        return 0
    return sum(1 for line in data.splitlines() if line.strip())


def _is_litter_dir(name: str) -> bool:
    return name in LITTER_DIRS or name.endswith(LITTER_DIR_SUFFIXES)


def _walk(root: Path, tracked: set[str]) -> tuple[int, int, int, list[str]]:
    """Bytes of everything but .git; count and bytes of untracked build litter."""
    total = count = litter = 0
    examples: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        rel_dir = PurePosixPath(Path(dirpath).relative_to(root).as_posix())
        parts = rel_dir.parts
        in_env = any(p in NOT_LITTER_DIRS for p in parts)
        in_litter = not in_env and any(_is_litter_dir(p) for p in parts)
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                size = os.lstat(path).st_size
            except OSError:
                continue
            total += size
            if in_env:
                continue
            rel = (rel_dir / name).as_posix() if parts else name
            if rel in tracked:
                continue
            if in_litter or any(fnmatch.fnmatch(name, pattern) for pattern in LITTER_FILES):
                count += 1
                litter += size
                if len(examples) < 10:
                    examples.append(rel)
    return total, count, litter, sorted(examples)


def _layout(files: ProjectFiles, source: Source) -> list[Reading]:
    paths = files.paths
    names = {p for p in paths if "/" not in p}
    readme = sorted(p for p in names if p.lower().startswith("readme"))
    pages = [p for p in paths if p.startswith("docs/") and p.endswith(DOC_SUFFIXES)]
    ci = [
        p
        for p in paths
        if (p.startswith(".github/workflows/") and p.endswith((".yml", ".yaml")))
        or p in (".gitlab-ci.yml", ".circleci/config.yml", "Jenkinsfile", ".travis.yml")
    ]
    test_files = [p for p in paths if is_test_module(p)]
    lockfiles = sorted(names.intersection(LOCKFILES))
    return [
        measured("docs.readme", bool(readme), source, files=readme),
        measured("docs.pages", len(pages), source),
        measured("project.has_pyproject", "pyproject.toml" in names, source),
        measured("project.has_lockfile", bool(lockfiles), source, files=lockfiles),
        measured("project.ci_files", len(ci), source, files=ci),
        measured("tests.test_files", len(test_files), source),
        measured(
            "tests.has_conftest",
            any(PurePosixPath(p).name == "conftest.py" for p in paths),
            source,
        ),
    ]


def _env_ignored(files: ProjectFiles) -> list[Reading]:
    """Whether `.env` would be ignored: asked of git itself, so every ignore rule counts."""
    if not files.tracked:
        source = Source(tool="filesystem", artefact=".gitignore")
        return not_measured(["security.env_ignored"], source, "not a git work tree")
    source = Source(tool="git check-ignore", tool_version=files.git_version, artefact=".env")
    try:
        run = run_tool(
            ["git", "check-ignore", "-q", "--no-index", ".env"], cwd=files.root, timeout=30
        )
    except ToolError as exc:
        return not_measured(["security.env_ignored"], source, str(exc))
    if run.returncode not in (0, 1):
        return not_measured(["security.env_ignored"], source, run.stderr.strip())
    return [measured("security.env_ignored", run.returncode == 0, source)]
