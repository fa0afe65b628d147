"""What an import reports: per file read, per batch stored, and for a whole run."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from django.db.models import Count

from tracking.models import Project


@dataclass
class FileResult:
    """What reading one file found."""

    path: str
    bytes: int = 0
    lines: int = 0
    bad_lines: int = 0
    rewritten: bool = False
    # Why the file could not be read (e.g. "Permission denied"); None: it was read.
    unreadable: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class Skipped:
    """A file or folder an import could not read, and why: left for a later run."""

    path: str
    kind: Literal["file", "folder"]
    reason: str


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


@dataclass(frozen=True)
class ProjectUse:
    """A project a run put sessions in: `created` when the run made it (named after a
    session's folder, as no `--project` and no path rule said otherwise)."""

    slug: str
    name: str
    created: bool
    sessions: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def projects_used(session_ids: Collection[int], existing: Collection[int]) -> list[ProjectUse]:
    """The projects of the sessions a run touched, by slug, each with how many of them;
    `existing`: the primary keys of the projects there before the run."""
    projects = (
        Project.objects.filter(sessions__in=session_ids)
        .annotate(touched=Count("sessions"))
        .order_by("slug")
    )
    return [ProjectUse(p.slug, p.name, p.pk not in existing, p.touched) for p in projects]


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
    # The files and folders that could not be read (not counted in `files`).
    skipped: list[Skipped] = field(default_factory=list)
    sessions: set[int] = field(default_factory=set)
    # Each touched session's own figures after the run (see `totals.session_figures`).
    figures: list[dict[str, Any]] = field(default_factory=list)
    # The projects of the touched sessions, and whether this run created them.
    projects: list[ProjectUse] = field(default_factory=list)

    @property
    def projects_created(self) -> list[ProjectUse]:
        return [p for p in self.projects if p.created]

    def add(self, result: FileResult) -> None:
        """Count a file read (or skipped as unreadable)."""
        self.warnings += result.warnings
        if result.unreadable is not None:
            self.skipped.append(Skipped(result.path, "file", result.unreadable))
            return
        self.files += 1
        self.files_changed += 1 if result.bytes or result.rewritten else 0
        for name in ("bytes", "lines", "bad_lines"):
            setattr(self, name, getattr(self, name) + getattr(result, name))
        self.rewritten += int(result.rewritten)

    def skip_folders(self, folders: list[Skipped]) -> None:
        """Count folders that could not be read, each with a warning."""
        self.skipped += folders
        self.warnings += [f"{f.path}: folder not read, {f.reason}" for f in folders]

    def unreadable(self, kind: Literal["file", "folder"]) -> int:
        """How many files (or folders) could not be read."""
        return sum(1 for s in self.skipped if s.kind == kind)
