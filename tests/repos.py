"""Real git repositories and a small real Python package, built in temporary folders."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest


class Repo:
    """A git repository in a temporary folder, driven with the real git."""

    def __init__(self, root: Path, *, init: bool = True):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        if init:
            self.git("init", "-q", "-b", "main")
        self.git("config", "user.email", "dev@example.org")
        self.git("config", "user.name", "Dev")
        self.git("config", "commit.gpgsign", "false")

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=self.root, capture_output=True, text=True, check=True, timeout=30
        )
        return done.stdout.strip()

    def write(self, path: str, text: str) -> Path:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        return target

    def commit(self, message: str, files: dict[str, str] | None = None) -> str:
        for path, text in (files or {}).items():
            self.write(path, text)
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path) -> Repo:
    return Repo(tmp_path / "repo")


PACKAGE = {
    "pyproject.toml": '[project]\nname = "calc"\nversion = "0.1"\n',
    "requirements.txt": "pytest==9.2.0\n",
    "README.md": "# calc\n",
    "docs/usage.md": "# Usage\n",
    ".gitignore": "__pycache__/\n.env\n",
    "calc/__init__.py": '"""A tiny calculator."""\n',
    "calc/core.py": '''"""Arithmetic."""

import subprocess


def add(a: int, b: int) -> int:
    """Sum."""
    return a + b


def sign(x):
    if x > 0:
        return 1
    if x < 0:
        return -1
    return 0


def shell(cmd: str) -> str:
    """Runs a command through the shell: bandit flags this as high severity."""
    return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout


def grade(score: int) -> str:
    """A deliberately branchy function."""
    if score > 90:
        return "A"
    elif score > 80:
        return "B"
    elif score > 70:
        return "C"
    elif score > 60:
        return "D"
    elif score > 50:
        return "E"
    elif score > 40:
        return "F"
    elif score > 30:
        return "G"
    elif score > 20:
        return "H"
    elif score > 10:
        return "I"
    elif score > 5:
        return "J"
    elif score > 4:
        return "K"
    elif score > 3:
        return "L"
    elif score > 2:
        return "M"
    elif score > 1:
        return "N"
    elif score > 0:
        return "O"
    return "Z"
''',
    "tests/__init__.py": "",
    "tests/test_core.py": """from calc.core import add, sign


def test_add():
    assert add(2, 3) == 5


def test_sign():
    assert sign(4) == 1


def test_broken():
    assert add(1, 1) == 3
""",
}


def make_venv(path: Path, *packages: str) -> Path:
    """A virtualenv at `path` with `packages` installed by Cairn's pip; returns its python."""
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120
    )
    python = path / "bin" / "python"
    if packages:
        pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", str(python)]
        subprocess.run([*pip, "install", "-q", *packages], check=True, timeout=600)
    return python


@pytest.fixture(scope="session")
def project_python(tmp_path_factory) -> Path:
    """A measured project's own environment, with pytest and coverage (Cairn's versions, so pip
    finds them at hand), made once per test run: its python."""
    wanted = [f"{name}=={metadata.version(name)}" for name in ("pytest", "coverage")]
    return make_venv(tmp_path_factory.mktemp("project-env") / "env", *wanted)


def link_venv(repo: Repo, python: Path, name: str = ".venv") -> None:
    """Give the repository `python`'s environment as its own `name`/, kept out of git."""
    (repo.root / name).symlink_to(python.parent.parent, target_is_directory=True)
    with (repo.root / ".git" / "info" / "exclude").open("a") as exclude:
        exclude.write(f"/{name}\n")


@pytest.fixture
def package(repo) -> Repo:
    """calc: 2 commits, one failing test, one shell=True call, one function of complexity 16."""
    repo.commit("chore: start", {"README.md": "# calc\n"})
    repo.commit("feat: calculator (#1)", PACKAGE)
    return repo


@pytest.fixture
def package_with_venv(package, project_python) -> Repo:
    """calc with its own .venv/ (the shared one: write nothing under it), pytest and coverage
    installed there."""
    link_venv(package, project_python)
    return package
