"""Storing a batch's sessions: the Session of every Claude Code session and subagent its files
mention, created when new, and Claude Code's facts of each (ClaudeSession)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.utils import timezone

from integrations.claude_code.accounting import Request
from integrations.claude_code.importer.finding import existing_project_for_cwd, project_for_cwd
from integrations.claude_code.importer.reading import NewLines
from integrations.claude_code.transcript import (
    Compaction,
    SessionSeen,
    ToolUse,
    external_id,
    parse_time,
)
from integrations.models import ClaudeSession
from lib.sql import any_of, update_rows
from tracking import instruments
from tracking.models import Project, Session

AGENT = "claude-code"
FACT_FIELDS = ("claude_id", "cwd", "version", "agent_id", "last_activity_at")

# (sessionId, agentId) of a line: agentId is "" in a main session's own lines.
SessionKey = tuple[str, str]


@dataclass
class _NewSession:
    """The first values of a session to create."""

    project: Project
    parent: Session | None
    started_at: datetime
    branch: str


def store_sessions(reads: list[NewLines], project: Project | None) -> dict[SessionKey, Session]:
    """The Session of every (sessionId, agentId) the files mention, created when new; a
    subagent's session is a child of its parent's. In `project` when given, else in the
    project of the session's folder."""
    seen, folders = sessions_seen(reads)
    # Known under their Claude Code ids in any project (hooks may have started them under
    # their key's project): one query for the batch; `_Owners.known` picks the one to use.
    candidates = _known_facts([external_id(*key) for key in seen], project)
    found: dict[str, ClaudeSession] = {}
    owners = _Owners(project, folders)
    sessions: dict[SessionKey, Session] = {}
    # Parents first, so children can point at them and share their project.
    for children in (False, True):
        keys = sorted(key for key in seen if bool(key[1]) == children)
        for key in keys:
            known = candidates.get(external_id(*key), [])
            chosen = owners.known(key, seen[key], known, _parent(key, sessions))
            if chosen is not None:
                found[external_id(*key)] = chosen
        made = _get_or_create_sessions(_sessions_to_make(keys, seen, found, sessions, owners))
        for key in keys:
            facts = found.get(external_id(*key))
            session = facts.session if facts else made[key]
            sessions[key] = _update_session(session, seen[key], _parent(key, sessions))
    _update_facts(sessions, seen, found)
    return sessions


def sessions_seen(
    reads: list[NewLines],
) -> tuple[dict[SessionKey, SessionSeen], dict[SessionKey, str]]:
    """What the files' lines say about each session, and the folder of the file where each
    was seen first (without a cwd, that folder names its project). A subagent's parent is
    there even when none of its own lines are; lines without a sessionId are left out."""
    seen: dict[SessionKey, SessionSeen] = {}
    folders: dict[SessionKey, str] = {}
    for read in reads:
        chunk, folder = read.chunk, read.path.parent.name
        for key, what in chunk.sessions.items():
            seen.setdefault(key, SessionSeen()).merge(what)
            folders.setdefault(key, folder)
        # Subagents known only from messages relayed to their parent: their time span is
        # theirs.
        relayed: tuple[Request | ToolUse | Compaction, ...]
        relayed = (*chunk.requests, *chunk.tool_uses, *chunk.compactions)
        for item in relayed:
            key = (item.session_id, item.agent_id)
            if key not in chunk.sessions:
                seen.setdefault(key, SessionSeen()).see({}, item.timestamp)
                folders.setdefault(key, folder)
    _add_missing_parents(seen, folders)
    return {key: what for key, what in seen.items() if key[0]}, folders


def _add_missing_parents(
    seen: dict[SessionKey, SessionSeen], folders: dict[SessionKey, str]
) -> None:
    """A subagent's file read before (or without) its parent's: the parent was at work at
    least while its subagent was, in the same folder."""
    for session_id, agent_id in list(seen):
        if agent_id and (session_id, "") not in seen:
            child = seen[(session_id, agent_id)]
            seen[(session_id, "")] = SessionSeen(
                first=child.first, last=child.last, cwd=child.cwd, branch=child.branch
            )
            folders[(session_id, "")] = folders[(session_id, agent_id)]


def _parent(key: SessionKey, sessions: dict[SessionKey, Session]) -> Session | None:
    """A subagent's parent session among those stored so far (None for a main session)."""
    return sessions.get((key[0], "")) if key[1] else None


class _Owners:
    """The project of each new session: the import's project when given, else its parent's,
    else the one its folder (its cwd, or its file's folder) belongs to, looked up once."""

    def __init__(self, project: Project | None, folders: dict[SessionKey, str]) -> None:
        self.project = project
        self.folders = folders
        self.by_folder: dict[tuple[str, str], Project] = {}
        self.existing: dict[tuple[str, str], Project | None] = {}

    def known(
        self,
        key: SessionKey,
        seen: SessionSeen,
        candidates: list[ClaudeSession],
        parent: Session | None,
    ) -> ClaudeSession | None:
        """Which stored session of a Claude Code id (`candidates`, oldest first) the lines of
        `key` go to; None: a new one.

        In the import's project when given; a subagent's in its parent's project. Otherwise the
        one in the project its folder maps to: a hook's key may have started a session under
        any project's id, and only where the folder maps to no project yet is the hook's
        project taken (the oldest such session), as the best guess there is.
        """
        if not candidates:
            return None
        owner = self.project or (parent.project if parent else None)
        if owner is None:
            where = (seen.cwd, self.folders[key])
            if where not in self.existing:
                self.existing[where] = existing_project_for_cwd(*where)
            owner = self.existing[where]
            if owner is None:
                return candidates[0]
        return next((c for c in candidates if c.session.project_id == owner.pk), None)

    def of(self, key: SessionKey, seen: SessionSeen, parent: Session | None) -> Project:
        """The project a new session `key` goes to."""
        owner = self.project or (parent.project if parent else None)
        if owner is None:
            where = (seen.cwd, self.folders[key])
            owner = self.by_folder.get(where) or project_for_cwd(*where)
            self.by_folder[where] = owner
        return owner


def _sessions_to_make(
    keys: list[SessionKey],
    seen: dict[SessionKey, SessionSeen],
    found: dict[str, ClaudeSession],
    sessions: dict[SessionKey, Session],
    owners: _Owners,
) -> dict[SessionKey, _NewSession]:
    """The sessions of `keys` that are not known yet, with their first values."""
    missing: dict[SessionKey, _NewSession] = {}
    for key in keys:
        if external_id(*key) in found:
            continue
        what, parent = seen[key], _parent(key, sessions)
        first = parse_time(what.first) if what.first else None
        missing[key] = _NewSession(
            project=owners.of(key, what, parent),
            parent=parent,
            started_at=first or timezone.now(),
            branch=what.branch,
        )
    return missing


def _get_or_create_sessions(
    wanted: dict[SessionKey, _NewSession],
) -> dict[SessionKey, Session]:
    """Django's `get_or_create` for many sessions: a look-up, then the missing ones inserted
    together (a session made meanwhile by a hook or another import is taken as found)."""
    by_owner: dict[Project, dict[str, SessionKey]] = defaultdict(dict)
    for key, values in wanted.items():
        by_owner[values.project][external_id(*key)] = key
    result: dict[SessionKey, Session] = {}
    for owner, keys in by_owner.items():
        rows = Session.objects.filter(project=owner, external_id__in=list(keys))
        existing = {row.external_id: row for row in rows}
        new = []
        for external, key in sorted(keys.items()):
            if external not in existing:
                values = wanted[key]
                new.append(
                    Session(
                        project=owner,
                        external_id=external,
                        agent=AGENT,
                        parent=values.parent,
                        started_at=values.started_at,
                        branch=values.branch[:200],
                    )
                )
        if new:
            Session.objects.bulk_create(new, ignore_conflicts=True)
            instruments.sessions_started.labels(instruments.agent_label(AGENT)).inc(len(new))
            names = [session.external_id for session in new]
            made = Session.objects.filter(project=owner, external_id__in=names)
            existing.update((row.external_id, row) for row in made)
        for external, key in keys.items():
            session = existing[external]
            session.project = owner
            result[key] = session
    return result


def _update_session(session: Session, seen: SessionSeen, parent: Session | None) -> Session:
    """The session's start, branch, parent and agent brought up to what the lines say."""
    first = parse_time(seen.first) if seen.first else None
    changed = []
    if first and first < session.started_at:
        session.started_at = first
        changed.append("started_at")
    if seen.branch and session.branch != seen.branch[:200]:
        session.branch = seen.branch[:200]
        changed.append("branch")
    if parent is not None and session.parent_id is None:
        session.parent = parent
        changed.append("parent")
    if not session.agent:
        session.agent = AGENT
        changed.append("agent")
    if changed:
        session.save(update_fields=[*changed, "updated_at"])
    return session


def _update_facts(
    sessions: dict[SessionKey, Session],
    wanted: dict[SessionKey, SessionSeen],
    found: dict[str, ClaudeSession],
) -> None:
    """Claude Code's facts of each session (id, folder, version, last activity), stored new
    or changed; each session's `claude` set for refresh_totals, without a query."""
    facts_of = {facts.session_id: facts for facts in found.values()}
    unknown = [s.pk for s in sessions.values() if s.pk not in facts_of]
    if unknown:
        facts_of.update((f.session_id, f) for f in ClaudeSession.objects.filter(pk__in=unknown))
    new, changed = [], []
    for key, session in sessions.items():
        seen = wanted[key]
        facts = facts_of.get(session.pk)
        if facts is None:
            facts = facts_of[session.pk] = ClaudeSession(session=session)
            new.append(facts)
            before = None
        else:
            before = _facts_values(facts)
        last = parse_time(seen.last) if seen.last else None
        facts.claude_id = external_id(*key)
        facts.cwd = seen.cwd[:1000] or facts.cwd
        facts.version = seen.version[:50] or facts.version
        facts.agent_id = key[1] or facts.agent_id
        if last and (facts.last_activity_at is None or last > facts.last_activity_at):
            facts.last_activity_at = last
        if before is not None and _facts_values(facts) != before:
            changed.append(facts)
        session.claude = facts
    ClaudeSession.objects.bulk_create(new)
    update_rows(ClaudeSession, changed, FACT_FIELDS)


def _known_facts(claude_ids: list[str], project: Project | None) -> dict[str, list[ClaudeSession]]:
    """The stored facts (with session and project) of each Claude Code id, oldest session
    first; in `project` only when given. The look-up is plain SQL: on a first import it
    finds nothing, and building it through the ORM cost more than Postgres took to answer."""
    if not claude_ids:
        return {}
    facts_table = connection.ops.quote_name(ClaudeSession._meta.db_table)
    # By id only, no join with sessions: a fresh table has no planner statistics yet and a
    # join was planned as a scan of every stored session's facts per session of the project.
    pks = []
    with connection.cursor() as cursor:
        for start in range(0, len(claude_ids), 500):
            condition, params = any_of(claude_ids[start : start + 500])
            cursor.execute(
                f"SELECT session_id FROM {facts_table} WHERE claude_id {condition}",  # noqa: S608
                params,
            )
            pks += [row[0] for row in cursor.fetchall()]
    found: dict[str, list[ClaudeSession]] = defaultdict(list)
    if pks:
        rows = ClaudeSession.objects.filter(pk__in=pks).select_related("session__project")
        if project is not None:
            rows = rows.filter(session__project=project)
        for facts in rows.order_by("session_id"):
            found[facts.claude_id].append(facts)
    return found


def _facts_values(facts: ClaudeSession) -> tuple[object, ...]:
    """The facts' fields that are saved, to tell whether any changed."""
    return tuple(getattr(facts, name) for name in FACT_FIELDS)
