"""What a file's name says about it: its extension, and whether it is a test. The file is never
opened (a suggestion request names a file on the client's machine)."""

from __future__ import annotations

import re
from pathlib import PurePosixPath, PureWindowsPath

TEST_FOLDERS = {"test", "tests", "__tests__", "spec", "specs", "testing"}
# test_x.py, x_test.go, x.test.ts, x.spec.js, XTest.java, conftest.py
TEST_NAME = re.compile(
    r"^(test_.*|.*_test\..+|.*\.(test|spec)\..+|.*Tests?\.[A-Za-z]+|conftest\.py)$"
)
MAX_EXTENSION = 20


def _parts(path: str) -> tuple[str, ...]:
    return (PureWindowsPath(path) if "\\" in path else PurePosixPath(path)).parts


def extension(path: str) -> str:
    """The lower-case extension with its dot (".py"), "" for none or one too long to be one."""
    parts = _parts(path)
    name = parts[-1] if parts else ""
    suffix = PurePosixPath(name).suffix.lower()
    return suffix if len(suffix) <= MAX_EXTENSION else ""


def is_test(path: str) -> bool:
    """A test file: named like one, or inside a test folder."""
    parts = _parts(path)
    if not parts:
        return False
    if TEST_NAME.match(parts[-1]):
        return True
    return any(part.lower() in TEST_FOLDERS for part in parts[:-1])
