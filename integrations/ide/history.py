"""Recording file edits from Claude Code hooks, for the IDE suggestions."""

from __future__ import annotations

from datetime import datetime

from integrations.ide.files import extension, is_test
from integrations.ide.models import FileEdit
from lib.text import is_storable
from tracking.models import Project, Session

# Claude Code's tools that write a file, and the input field naming it.
EDIT_TOOLS = {
    "Edit": "file_path",
    "MultiEdit": "file_path",
    "Write": "file_path",
    "NotebookEdit": "notebook_path",
}


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
    field = EDIT_TOOLS.get(tool)
    if field is None or not isinstance(tool_input, dict):
        return False
    path = tool_input.get(field)
    if not isinstance(path, str) or not path or len(path) > 4096 or not is_storable(path):
        return False
    _, created = FileEdit.objects.get_or_create(
        project=project,
        tool_use_id=tool_use_id,
        defaults={
            "session": session,
            "tool": tool,
            "extension": extension(path),
            "is_test": is_test(path),
            "edited_at": at,
        },
    )
    return created
