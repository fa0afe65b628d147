"""Whose a transcript is: a hook's key may have its project read a transcript only if the
file is that project's, as an import would decide it, so one project's key cannot take
another's sessions (their tokens and cost) by naming its file."""

from __future__ import annotations

from integrations.claude_code.importer.finding import existing_project_for_cwd
from integrations.claude_code.importer.reading import NewLines
from integrations.claude_code.importer.sessions import sessions_seen
from integrations.claude_code.transcript import external_id
from integrations.models import ClaudeSession
from tracking.models import Project


def foreign_claim(read: NewLines, project: Project) -> str:
    """Why what `read` holds is not `project`'s to store ("" when it is).

    It is, when every main session its lines mention works in a folder that maps to `project` (the
    import's rule: a ProjectRule, else the repository's name; a folder that maps to no project
    yet maps to none, as a hook creates no project), none of them is already a session of
    another project, and the file was not read for another project before.
    """
    known = read.known
    if known is not None and known.session is not None and known.session.project_id != project.pk:
        return "the file was read for another project"
    seen, folders = sessions_seen([read])
    claude_ids = {external_id(*key) for key in seen} | {key[0] for key in seen}
    taken = (
        ClaudeSession.objects.filter(claude_id__in=sorted(claude_ids))
        .exclude(session__project=project)
        .values_list("claude_id", flat=True)
        .first()
    )
    if taken is not None:
        return f"session {taken} is another project's"
    owners: dict[tuple[str, str], Project | None] = {}
    # A subagent's session is its parent's project's, as in an import: only main sessions'
    # folders count (a subagent's file alone gives its parent its folder).
    for key, what in sorted(seen.items()):
        if key[1]:
            continue
        where = (what.cwd, folders[key])
        if where not in owners:
            owners[where] = existing_project_for_cwd(*where)
        owner = owners[where]
        if owner is None or owner.pk != project.pk:
            return f"its folder {what.cwd or folders[key]!r} is not this project's"
    return ""
