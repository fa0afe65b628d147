"""What an import reports: per file read, per batch stored, and for a whole run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FileResult:
    """What reading one file found."""

    path: str
    bytes: int = 0
    lines: int = 0
    bad_lines: int = 0
    rewritten: bool = False
    warnings: list[str] = field(default_factory=list)


@dataclass
class Stored:
    """What storing a batch of files changed."""

    requests_new: int = 0
    requests_updated: int = 0
    tool_calls: int = 0
    tool_errors: int = 0
    sessions: set[int] = field(default_factory=set)

    def add_stored(self, other: Stored) -> None:
        """Count what storing another batch changed."""
        for name in ("requests_new", "requests_updated", "tool_calls", "tool_errors"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.sessions |= other.sessions


@dataclass
class ImportResult(Stored):
    """A whole run: the files read, and (as Stored) what storing them changed."""

    files: int = 0
    files_changed: int = 0
    bytes: int = 0
    lines: int = 0
    bad_lines: int = 0
    rewritten: int = 0
    warnings: list[str] = field(default_factory=list)
    sessions: set[int] = field(default_factory=set)
    # Each touched session's own figures after the run (see `totals.session_figures`).
    figures: list[dict[str, Any]] = field(default_factory=list)

    def add(self, result: FileResult) -> None:
        """Count a file read."""
        self.files += 1
        self.files_changed += 1 if result.bytes or result.rewritten else 0
        for name in ("bytes", "lines", "bad_lines"):
            setattr(self, name, getattr(self, name) + getattr(result, name))
        self.rewritten += int(result.rewritten)
        self.warnings += result.warnings
