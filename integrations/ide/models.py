"""The file edits IDE suggestions learn from (imported here by `integrations/models.py`)."""

from __future__ import annotations

from django.db import models

from tracking.models import Project, Session


class FileEdit(models.Model):
    """An agent's edit of a file, from a Claude Code PostToolUse hook of an edit tool.

    Only what a suggestion needs is kept: the file's extension and whether it is a test file,
    never its path or content.
    """

    # No index of its own: the key and the look-up index start with it.
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="+")
    tool_use_id = models.CharField(max_length=200)
    tool = models.CharField(max_length=50)
    extension = models.CharField(max_length=20, blank=True)
    is_test = models.BooleanField()
    edited_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "tool_use_id"], name="file_edit_key")
        ]
        indexes = [
            # The newest edits of a kind of file, with their sessions, from the index alone.
            models.Index(
                fields=["project", "extension", "is_test", "-edited_at", "-id", "session"],
                name="file_edit_newest",
            )
        ]

    def __str__(self) -> str:
        return f"{self.tool} *{self.extension} {'test' if self.is_test else 'code'}"
