"""Recording file edits for the IDE suggestions, from Claude Code hooks one at a time and from
transcript imports a batch at a time: the same rows, read by `files.edited_file`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from integrations.ide.files import EditedFile, edited_file
from integrations.ide.models import FileEdit
from lib.sql import insert_rows
from tracking.models import Project, Session

COLUMNS = ("project_id", "session_id", "tool_use_id", "tool", "extension", "is_test", "edited_at")
# FileEdit's key (`file_edit_key`): an edit seen again, by a hook or a re-import, is left.
ON_CONFLICT = "ON CONFLICT (project_id, tool_use_id) DO NOTHING RETURNING tool_use_id"


@dataclass(frozen=True)
class NewEdit:
    """An edit to store: the call's ids, what it wrote, and when (its result's time)."""

    project_id: int
    session_id: int
    tool_use_id: str
    edited: EditedFile
    at: datetime


def _values(edit: NewEdit) -> tuple:
    """The edit's row in COLUMNS order."""
    at = connection.ops.adapt_datetimefield_value(edit.at)
    e = edit.edited
    return (edit.project_id, edit.session_id, edit.tool_use_id, e.tool, e.extension, e.is_test, at)


def store_file_edits(edits: Iterable[NewEdit]) -> int:
    """Insert the edits not stored yet, in one statement (per 10,000); returns how many were
    new. A tool_use id comes once per project, whichever path stored it first."""
    rows = {(e.project_id, e.tool_use_id): _values(e) for e in edits}
    return len(insert_rows(FileEdit, COLUMNS, list(rows.values()), suffix=ON_CONFLICT))


def note_file_edit(
    project: Project,
    session: Session,
    tool: str,
    tool_use_id: str,
    tool_input: object,
    at: datetime,
) -> bool:
    """Keep the extension and test-ness of the file an edit tool wrote; True if noted now (a
    repeated hook notes nothing). Other tools, and inputs without a path, are left."""
    edited = edited_file(tool, tool_input)
    if edited is None:
        return False
    return store_file_edits([NewEdit(project.pk, session.pk, tool_use_id, edited, at)]) == 1
