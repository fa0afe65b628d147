"""Storing a batch's sessions: the Session of every Claude Code session and subagent its files
mention, created when new, and Claude Code's facts of each (ClaudeSession)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db import connection
from django.utils import timezone

from integrations.claude_code.accounting import Request
from integrations.claude_code.importer.finding import project_for_cwd
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
from tracking.models import Project, Session

AGENT = "claude-code"
FACT_FIELDS = ("claude_id", "cwd", "version", "agent_id", "last_activity_at")

# (sessionId, agentId) of a line: agentId is "" in a main session's own lines.
SessionKey = tuple[str, str]


def store_sessions(reads: list[NewLines], project: Project | None) -> dict[SessionKey, Session]:
    """The Session of every (sessionId, agentId) the files mention, created when new; a
    subagent's session is a child of its parent's."""
    wanted: dict[SessionKey, SessionSeen] = {}
    # Where each session was seen first: without a cwd, its folder names its project.
    folders: dict[SessionKey, str] = {}
    for read in reads:
        chunk = read.chunk
        for key, seen in chunk.sessions.items():
            wanted.setdefault(key, SessionSeen()).merge(seen)
            folders.setdefault(key, read.path.parent.name)
        # Subagents known only from messages relayed to their parent: their time span is
        # theirs.
        relayed: tuple[Request | ToolUse | Compaction, ...]
        relayed = (*chunk.requests, *chunk.tool_uses, *chunk.compactions)
        for item in relayed:
            key = (item.session_id, item.agent_id)
            if key not in chunk.sessions:
                wanted.setdefault(key, SessionSeen()).see({}, item.timestamp)
                folders.setdefault(key, read.path.parent.name)
    for session_id, agent_id in list(wanted):
        if agent_id and (session_id, "") not in wanted:
            # A subagent's file read before (or without) its parent's: the parent was at work
            # at least while its subagent was.
            child = wanted[(session_id, agent_id)]
            wanted[(session_id, "")] = SessionSeen(
                first=child.first, last=child.last, cwd=child.cwd, branch=child.branch
            )
            folders[(session_id, "")] = folders[(session_id, agent_id)]
    wanted = {key: seen for key, seen in wanted.items() if key[0]}
    # Known under their Claude Code ids in any project (hooks may have started them under
    # their key's project): one query for the batch, the first session of each id.
    found = _known_facts([external_id(*key) for key in wanted], project)
    result: dict[SessionKey, Session] = {}
    owners: dict[tuple[str, str], Project] = {}
    # Parents first, so children can point at them and share their project.
    for children in (False, True):
        keys = sorted(key for key in wanted if bool(key[1]) == children)
        missing: dict[SessionKey, tuple[Project, dict[str, Any]]] = {}
        for key in keys:
            if external_id(*key) in found:
                continue
            seen = wanted[key]
            parent = result.get((key[0], "")) if children else None
            owner = project or (parent.project if parent else None)
            if owner is None:
                where = (seen.cwd, folders[key])
                owner = owners.get(where) or project_for_cwd(*where)
                owners[where] = owner
            first = parse_time(seen.first) if seen.first else None
            missing[key] = (
                owner,
                {"parent": parent, "started_at": first or timezone.now(), "branch": seen.branch},
            )
        made = _get_or_create_sessions(missing)
        for key in keys:
            facts = found.get(external_id(*key))
            session = facts.session if facts else made[key]
            parent = result.get((key[0], "")) if children else None
            result[key] = _update_session(session, wanted[key], parent)
    _update_facts(result, wanted, found)
    return result


def _get_or_create_sessions(
    wanted: dict[SessionKey, tuple[Project, dict[str, Any]]],
) -> dict[SessionKey, Session]:
    """Django's `get_or_create` for many sessions: a look-up, then the missing ones inserted
    together (a session made meanwhile by a hook or another import is taken as found)."""
    by_owner: dict[Project, dict[str, SessionKey]] = defaultdict(dict)
    for key, (owner, _) in wanted.items():
        by_owner[owner][external_id(*key)] = key
    result: dict[SessionKey, Session] = {}
    for owner, keys in by_owner.items():
        rows = Session.objects.filter(project=owner, external_id__in=list(keys))
        existing = {row.external_id: row for row in rows}
        new = []
        for external, key in sorted(keys.items()):
            if external not in existing:
                defaults = wanted[key][1]
                new.append(
                    Session(
                        project=owner,
                        external_id=external,
                        agent=AGENT,
                        parent=defaults["parent"],
                        started_at=defaults["started_at"],
                        branch=defaults["branch"][:200],
                    )
                )
        if new:
            Session.objects.bulk_create(new, ignore_conflicts=True)
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


def _known_facts(claude_ids: list[str], project: Project | None) -> dict[str, ClaudeSession]:
    """The stored facts (with session and project) of each Claude Code id, the first session
    of each; in `project` only when given. The look-up is plain SQL: on a first import it
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
    found: dict[str, ClaudeSession] = {}
    if pks:
        rows = ClaudeSession.objects.filter(pk__in=pks).select_related("session__project")
        if project is not None:
            rows = rows.filter(session__project=project)
        for facts in rows.order_by("-session_id"):
            found[facts.claude_id] = facts
    return found


def _facts_values(facts: ClaudeSession) -> tuple[object, ...]:
    """The facts' fields that are saved, to tell whether any changed."""
    return tuple(getattr(facts, name) for name in FACT_FIELDS)
