"""What a file's name says about it: its extension, and whether it is a test. The file is never
opened (a suggestion request names a file on the client's machine)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

from lib.text import is_storable

TEST_FOLDERS = {"test", "tests", "__tests__", "spec", "specs", "testing"}
# test_x.py, x_test.go, x.test.ts, x.spec.js, XTest.java, conftest.py
TEST_NAME = re.compile(
    r"^(test_.*|.*_test\..+|.*\.(test|spec)\..+|.*Tests?\.[A-Za-z]+|conftest\.py)$"
)
MAX_EXTENSION = 20
MAX_PATH = 4096

# Claude Code's tools that write a file, and the input field naming it.
EDIT_TOOLS = {
    "Edit": "file_path",
    "MultiEdit": "file_path",
    "Write": "file_path",
    "NotebookEdit": "notebook_path",
}


@dataclass(frozen=True)
class EditedFile:
    """What an edit tool call says about the file it wrote: all that is kept of it."""

    tool: str
    extension: str
    is_test: bool


def edited_file(tool: str, tool_input: object) -> EditedFile | None:
    """The kind of file an edit tool call wrote, from its input, as the hooks and the
    transcript import both read it; None for other tools, and for inputs without a usable
    path (missing, not a string, empty, over MAX_PATH, or with NUL or a lone surrogate).

    The path is taken as it is written, relative or absolute, and only its name and folders
    are looked at: the file is never opened (it is on the agent's machine)."""
    field = EDIT_TOOLS.get(tool)
    if field is None or not isinstance(tool_input, dict):
        return None
    path = tool_input.get(field)
    if not isinstance(path, str) or not path or len(path) > MAX_PATH or not is_storable(path):
        return None
    return EditedFile(tool=tool, extension=extension(path), is_test=is_test(path))


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
