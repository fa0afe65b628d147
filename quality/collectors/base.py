"""What every collector returns, and how collectors run tools.

A collector returns a list of Readings. A Reading with `value=None` is "not measured" and carries
the reason; collectors never put 0 or a default in place of a figure they could not get.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import (
    DTDForbidden,
    ElementTree,
    EntitiesForbidden,
    ExternalReferenceForbidden,
)

from lib.text import loads_bounded
from quality.vocabulary import unit_of

DEFAULT_TIMEOUT_S = 300.0
# The largest artefact read (a report, a data file). An upload is already bounded by the
# server's UPLOAD_MAX_BYTES; this bounds a local artefact and anything a report points at.
MAX_ARTEFACT_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Source:
    """Where a figure came from: the tool, its version, the artefact read and when."""

    tool: str
    tool_version: str = ""
    artefact: str = ""
    measured_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class Reading:
    key: str
    value: float | None
    source: Source
    reason: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def unit(self) -> str:
        return unit_of(self.key)

    @property
    def measured(self) -> bool:
        return self.value is not None


def measured(key: str, value: float | int | bool, source: Source, **detail: Any) -> Reading:
    """A measured figure; booleans are stored as 1.0 / 0.0."""
    unit_of(key)  # fails loudly on a key outside the vocabulary
    return Reading(key=key, value=float(value), source=source, detail=detail)


def not_measured(keys: list[str] | tuple[str, ...], source: Source, reason: str) -> list[Reading]:
    """The same reason for each key that could not be measured."""
    for key in keys:
        unit_of(key)
    return [Reading(key=key, value=None, source=source, reason=reason) for key in keys]


# Dependency lockfiles, by ecosystem; the first one tracked dates the project's dependencies.
LOCKFILES = (
    "uv.lock",
    "poetry.lock",
    "Pipfile.lock",
    "pdm.lock",
    "requirements.txt",
    "package-lock.json",
    "pnpm-lock.yaml",
    "yarn.lock",
    "Cargo.lock",
    "go.sum",
)


class ArtefactError(Exception):
    """An artefact that cannot be read; the message is the reason it was not measured."""


def read_regular(path: Path, limit: int = MAX_ARTEFACT_BYTES) -> bytes:
    """The bytes of a regular file of at most `limit` bytes, or ArtefactError.

    A FIFO, a device or a directory is refused before any read: opening without blocking and
    checking the opened file (not the path, which could be swapped) means a FIFO cannot hang
    the reader and /dev/zero cannot be read forever.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise ArtefactError(f"cannot read: {exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ArtefactError(f"cannot read: {path} is not a regular file")
        if info.st_size > limit:
            raise ArtefactError(f"cannot read: {path} is larger than {limit} bytes")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise ArtefactError(f"cannot read: {exc}") from None
    finally:
        os.close(fd)
    if len(data) > limit:  # grew after the stat
        raise ArtefactError(f"cannot read: {path} is larger than {limit} bytes")
    return data


def read_artefact(path: Path) -> bytes:
    """An artefact's bytes (a regular file, bounded), or ArtefactError when it cannot be read
    or is empty."""
    data = read_regular(path)
    if not data.strip():
        raise ArtefactError("empty file")
    return data


def parse_xml(path: Path) -> Element:
    """The root element of an XML file parsed safely, or ArtefactError with the parse error."""
    return parse_xml_bytes(read_artefact(path))


def parse_xml_bytes(data: bytes) -> Element:
    """The root element of XML bytes parsed safely, or ArtefactError with the parse error."""
    try:
        return ElementTree.fromstring(data)
    except (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden) as exc:
        # Their str() is a repr ("EntitiesForbidden(name='lol', ...)"): say what was refused.
        refused = {
            DTDForbidden: "a DTD",
            EntitiesForbidden: "entity declarations",
            ExternalReferenceForbidden: "an external reference",
        }[type(exc)]
        raise ArtefactError(f"{type(exc).__name__}: the XML holds {refused}, refused") from None
    except Exception as exc:  # ParseError
        raise ArtefactError(f"{type(exc).__name__}: {exc}") from None


def parse_json(data: bytes | str, name: str = "report") -> Any:
    """The JSON value of a report, or ArtefactError: invalid JSON, or nested deeper than
    `lib.text.MAX_JSON_DEPTH` (Python's parser would raise RecursionError on `[[[…]]]`).
    NaN and Infinity are read: the readers' own range checks refuse them with a reason."""
    try:
        return loads_bounded(data, name=name, allow_constants=True)
    except ValueError as exc:
        raise ArtefactError(f"{type(exc).__name__}: {exc}") from None


def local_name(tag: object) -> str:
    """An element's tag without its XML namespace."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


class ToolError(Exception):
    """A tool could not run or its output could not be read; the message is the reason."""


@dataclass
class ToolRun:
    returncode: int
    stdout: str
    stderr: str


def run_tool(
    args: list[str],
    *,
    cwd: Path | str,
    timeout: float = DEFAULT_TIMEOUT_S,
    on_line: Callable[[str], None] | None = None,
) -> ToolRun:
    """Run a tool with an argument list and a timeout; ToolError if it cannot run at all.

    A non-zero exit is not an error here: linters exit 1 when they find something. With
    `on_line`, each line the tool writes to stdout is passed on as it comes (for progress on a
    long run, such as a test suite), and stdout is still returned whole.
    """
    if on_line is not None:
        return _run_streaming(args, cwd=cwd, timeout=timeout, on_line=on_line)
    try:
        done = subprocess.run(
            args,
            cwd=str(cwd),
            env=tool_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            errors="replace",
            check=False,
        )
    except FileNotFoundError as exc:
        raise ToolError(f"{args[0]} is not installed: {exc}") from None
    except subprocess.TimeoutExpired:
        raise ToolError(f"{' '.join(args[:3])} timed out after {timeout:g} s") from None
    return ToolRun(done.returncode, done.stdout, done.stderr)


def _run_streaming(
    args: list[str], *, cwd: Path | str, timeout: float, on_line: Callable[[str], None]
) -> ToolRun:
    # stderr goes to a file, not a second pipe: reading one pipe line by line while the other
    # fills up would deadlock a chatty tool.
    env = {**tool_env(), "PYTHONUNBUFFERED": "1"}  # a Python tool's lines arrive as written
    with tempfile.TemporaryFile(mode="w+", errors="replace") as err:
        try:
            proc = subprocess.Popen(
                args, cwd=str(cwd), env=env, stdout=subprocess.PIPE, stderr=err,
                text=True, errors="replace",
            )  # fmt: skip
        except FileNotFoundError as exc:
            raise ToolError(f"{args[0]} is not installed: {exc}") from None
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        lines = []
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line)
                on_line(line.rstrip("\n"))
            returncode = proc.wait()
        finally:
            timed_out = not timer.is_alive()
            timer.cancel()
            proc.kill()
            proc.wait()
        if timed_out:
            raise ToolError(f"{' '.join(args[:3])} timed out after {timeout:g} s")
        err.seek(0)
        return ToolRun(returncode, "".join(lines), err.read())


def tool_env() -> dict[str, str]:
    """The environment for a tool run on someone's project: without Cairn's own Django and
    pytest settings, which would otherwise leak into the project's test run."""
    return {
        k: v
        for k, v in os.environ.items()
        if k != "DJANGO_SETTINGS_MODULE" and not k.startswith(("PYTEST_", "COV_CORE_"))
    }


def python_tool(module: str) -> list[str]:
    """The argument list that runs a Python tool installed beside Cairn."""
    return [sys.executable, "-m", module]


def package_version(name: str) -> str:
    """The installed version of a Python package, or "" when it is not installed."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return ""


def display_path(path: Path | str, root: Path | str | None = None) -> str:
    """A path as recorded in a Source: relative to the repository when inside it."""
    path = Path(path)
    if root is not None:
        try:
            return str(path.resolve().relative_to(Path(root).resolve()))
        except ValueError:
            pass
    return str(path)
