"""The project's files: what git tracks, or a walk that skips environments when there is no git."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from quality.collectors.base import ToolError
from quality.collectors.git import Git, git_version, open_repo

# The one list of folders that are not the project, in the subsets each collector needs.
# Installed environments: big, never the project's code.
ENVIRONMENT_DIRS = (".venv", "venv", "env", "node_modules")
# Not litter either (filesystem.py): deleting the repository or an environment breaks the
# project, while .tox, build and dist are rebuilt by tools and so are cleanup candidates.
NOT_LITTER_DIRS = frozenset({".git", *ENVIRONMENT_DIRS})
# Skipped by the walk of a directory that is not a git work tree: not the project's own files.
# build/ and dist/ are walked: without git nothing says whether they are the project's.
NOT_PROJECT_DIRS = NOT_LITTER_DIRS | {".tox", "__pycache__"}
# Left out of the tools' runs (ruff, bandit, radon, mypy): build/ and dist/ hold copies of the
# code, which would count every finding twice. The order is that of the tools' arguments.
NOT_PROJECT_CODE_DIRS = (*ENVIRONMENT_DIRS, ".tox", "build", "dist", ".git")


def is_test_module(path: str) -> bool:
    """A module pytest collects by default (`test_*.py`, `*_test.py`): a test module."""
    name = PurePosixPath(path).name
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def is_test_code(path: str) -> bool:
    """Test code: a test module, a `conftest.py`, or any file in a `tests/` or `test/` folder."""
    parts = PurePosixPath(path).parts
    return (
        is_test_module(path) or parts[-1] == "conftest.py" or bool({"tests", "test"} & set(parts))
    )


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
