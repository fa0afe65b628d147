"""Finding what to import: the transcript files, and the project a session's folder belongs to."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from django.utils.text import slugify

from integrations.claude_code.importer.results import Skipped
from integrations.models import ProjectRule
from tracking.models import Project


class TranscriptPathError(Exception):
    """A folder or file to import does not exist."""


def default_paths() -> list[Path]:
    """Where Claude Code keeps transcripts: `$CLAUDE_CONFIG_DIR/projects` (comma-separated
    folders) or `~/.claude/projects` and `~/.config/claude/projects`."""
    configured = os.environ.get("CLAUDE_CONFIG_DIR", "").strip()
    if configured:
        roots = [Path(p.strip()).expanduser() for p in configured.split(",") if p.strip()]
    else:
        roots = [Path("~/.claude").expanduser(), Path("~/.config/claude").expanduser()]
    return [root / "projects" for root in roots]


def find_transcripts(
    paths: Iterable[Path], *, since: datetime | None = None
) -> tuple[list[Path], list[Skipped]]:
    """Every `.jsonl` under `paths` (files are taken as given), sorted so that a session's main
    transcript comes before its subagents'; and the folders that could not be listed (no
    permission, an I/O error), which the import skips with a warning instead of silently.
    `since` skips files not modified since then."""
    found: list[Path] = []
    skipped: list[Skipped] = []
    for path in paths:
        if os.path.isdir(path):
            found += _transcripts_under(path, skipped)
        elif _is_file_or_unknown(path):
            found.append(path)
        else:
            raise TranscriptPathError(f"No such file or folder: {path}")
    found = sorted({p.resolve() for p in found}, key=lambda p: str(p))
    if since is not None:
        found = [p for p in found if _modified_since(p, since)]
    return found, skipped


def _transcripts_under(root: Path, skipped: list[Skipped]) -> list[Path]:
    """The `.jsonl` files under `root`; each folder that cannot be listed is added to
    `skipped` (`Path.rglob` would leave it out without a word)."""

    def unreadable(error: OSError) -> None:
        reason = error.strerror or str(error)
        skipped.append(Skipped(str(error.filename or root), "folder", reason))

    found: list[Path] = []
    for folder, _, names in os.walk(root, onerror=unreadable, followlinks=True):
        for name in names:
            path = Path(folder, name)
            # A folder that can be listed but not searched: its files cannot even be
            # stat'ed. They are taken, and reading them says why they were not read.
            if name.endswith(".jsonl") and _is_file_or_unknown(path):
                found.append(path)
    return found


def _is_file_or_unknown(path: Path) -> bool:
    """Whether `path` is a regular file, or cannot be looked at (not silently dropped)."""
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except (FileNotFoundError, NotADirectoryError):  # a dangling link, or gone since listed
        return False
    except OSError:
        return True


def _modified_since(path: Path, since: datetime) -> bool:
    """Whether `path` was modified since then; a file that cannot be looked at is kept, so
    that reading it reports why."""
    try:
        return path.stat().st_mtime >= since.timestamp()
    except OSError:
        return True


def repository_name(cwd: str) -> str:
    """The top folder of the git repository holding `cwd` (or `cwd`'s own name if there is
    none here, e.g. a transcript copied from another machine)."""
    path = Path(cwd)
    for folder in (path, *path.parents):
        if (folder / ".git").exists():
            return folder.name
    return path.name


def _slug_and_name(cwd: str, fallback: str) -> tuple[str, str]:
    """The slug and name of the project named after a session's folder (see project_for_cwd)."""
    name = repository_name(cwd) if cwd else fallback
    slug = slugify(name)[:100] or "claude-code"
    return slug, (name or slug)[:200]


def _ruled_project(cwd: str) -> Project | None:
    """The project of the longest ProjectRule matching `cwd`, if any."""
    if cwd:
        rules = ProjectRule.objects.select_related("project").order_by("-path_prefix")
        for rule in rules:
            prefix = rule.path_prefix.rstrip("/")
            if cwd == prefix or cwd.startswith(prefix + "/"):
                return rule.project
    return None


def project_for_cwd(cwd: str, fallback: str) -> Project:
    """The project of a session working in `cwd`: the longest matching ProjectRule, else the
    project named like the repository's top folder, created when missing."""
    ruled = _ruled_project(cwd)
    if ruled is not None:
        return ruled
    slug, name = _slug_and_name(cwd, fallback)
    project, _ = Project.objects.get_or_create(slug=slug, defaults={"name": name})
    return project


def existing_project_for_cwd(cwd: str, fallback: str) -> Project | None:
    """`project_for_cwd` without creating anything: None when `cwd` maps to no project yet."""
    ruled = _ruled_project(cwd)
    if ruled is not None:
        return ruled
    return Project.objects.filter(slug=_slug_and_name(cwd, fallback)[0]).first()
