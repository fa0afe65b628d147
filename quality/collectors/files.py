"""The project's files: what git tracks, or a walk that skips environments when there is no git."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from quality.collectors.base import ToolError
from quality.collectors.git import Git, git_version, open_repo

# Skipped by the walk of a directory that is not a git work tree: not the project's own files.
NOT_PROJECT_DIRS = {".git", ".venv", "venv", "env", "node_modules", "__pycache__", ".tox"}


@dataclass
class ProjectFiles:
    root: Path
    paths: list[str]  # relative, "/"-separated, sorted
    tracked: bool  # True: from `git ls-files`; False: from a walk
    git_version: str = ""

    def python(self) -> list[str]:
        return [p for p in self.paths if p.endswith(".py")]


def project_files(root: Path | str) -> ProjectFiles:
    """Tracked files of the work tree (as on disk now), or every project file without git."""
    root = Path(root).resolve()
    if open_repo(root) is not None:
        git = Git(root, git_version(root))  # run here: ls-files answers relative to its cwd
        try:
            out = git("ls-files", "-z", "--cached")
        except ToolError:
            out = None
        if out is not None:
            # Deleted in the work tree but still in the index: not there any more.
            paths = [p for p in out.split("\0") if p and (root / p).is_file()]
            return ProjectFiles(root, sorted(paths), tracked=True, git_version=git.version)
    paths = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in NOT_PROJECT_DIRS]
        rel = Path(dirpath).relative_to(root)
        paths += [(rel / f).as_posix() for f in filenames]
    return ProjectFiles(root, sorted(paths), tracked=False)
