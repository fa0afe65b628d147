"""`manage.py import_transcripts [PATH ...] [--project SLUG] [--since DATE] [--dry-run] [--json]
[--lock-timeout SECONDS]`.

Imports Claude Code's JSONL transcripts (default: `$CLAUDE_CONFIG_DIR/projects`, or
`~/.claude/projects` and `~/.config/claude/projects`). Running it again reads only what is new.
A session goes to `--project`, else to the project of the longest path rule (admin: Project
rules) matching its folder, else to a project named after its repository folder, created when
missing. The summary names the projects used and created.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from integrations.claude_code.importer import tuning
from integrations.claude_code.importer.finding import TranscriptPathError, default_paths
from integrations.claude_code.importer.results import ImportResult
from integrations.claude_code.importer.runner import ImportFailed, import_paths
from lib.gctune import few_collections
from lib.ranges import check_time
from tracking.models import Project


def parse_since(value: str) -> datetime:
    """A date (`2026-02-01`) or an ISO 8601 time; without a zone it is UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--since: not a date: {value!r} (use YYYY-MM-DD)") from None
    try:
        return check_time(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC), "--since")
    except ValueError as exc:
        raise CommandError(str(exc)) from None


# The longest --lock-timeout: a day (a run waiting longer is stuck, not waiting).
LOCK_TIMEOUT_MAX_S = 24 * 3600


def parse_lock_timeout(value: str) -> float:
    """Seconds, 0 < s <= a day."""
    try:
        seconds = float(value)
    except ValueError:
        raise CommandError(f"--lock-timeout: not a number of seconds: {value!r}") from None
    if not 0 < seconds <= LOCK_TIMEOUT_MAX_S:  # false for NaN as well
        raise CommandError(
            f"--lock-timeout: must be more than 0 and at most {LOCK_TIMEOUT_MAX_S} s: {value!r}"
        )
    return seconds


class ProgressBar:
    """A one-line bar on stderr, drawn only when stderr is a terminal."""

    WIDTH = 30

    def __init__(self, stream) -> None:
        self.stream = stream
        self.enabled = stream.isatty()

    def __call__(self, done: int, total: int, path: Path | None) -> None:
        if not self.enabled or not total:
            return
        filled = self.WIDTH * done // total
        name = path.name[-40:] if path else "done"
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.stream.write(f"\r[{bar}] {done}/{total} files  {name:<40}")
        if done == total:
            self.stream.write("\n")
        self.stream.flush()


class Command(BaseCommand):
    help = (
        "Import Claude Code transcripts (JSONL): sessions, exact tokens and cost, tool calls. "
        "Each session goes to --project SLUG, else to the project of the path rule (admin: "
        "Project rules) matching its folder, else to a project named after its folder, "
        "created when missing; projects can be merged or renamed later in the admin."
    )
    # A command run from cron or a hook every few minutes: the checks cost more than a re-run.
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="*", metavar="PATH", help="Files or folders.")
        parser.add_argument(
            "--project",
            metavar="SLUG",
            help="Put every session in this existing project (else path rules, else a project "
            "named after each session's folder).",
        )
        parser.add_argument("--since", metavar="DATE", help="Only files modified since DATE.")
        parser.add_argument("--dry-run", action="store_true", help="Read, report, store nothing.")
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")
        parser.add_argument(
            "--lock-timeout",
            metavar="SECONDS",
            default=str(tuning.LOCK_TIMEOUT_S),
            help="How long to wait for another import's lock before giving up "
            f"(default {tuning.LOCK_TIMEOUT_S:g}).",
        )

    def handle(
        self, *args, paths, project, since, dry_run, json: bool, lock_timeout: str, **options
    ):
        timeout = parse_lock_timeout(lock_timeout)
        target = None
        if project:
            target = Project.objects.filter(slug=project).first()
            if target is None:
                raise CommandError(f"No project with slug '{project}'.")
        if paths:
            roots = [Path(p).expanduser() for p in paths]
        else:
            roots = [p for p in default_paths() if p.is_dir()]
            if not roots:
                looked = ", ".join(str(p) for p in default_paths())
                raise CommandError(f"No Claude Code transcripts folder found (looked in {looked}).")
        try:
            with few_collections():
                result = import_paths(
                    roots,
                    project=target,
                    since=parse_since(since) if since else None,
                    dry_run=dry_run,
                    progress=ProgressBar(sys.stderr),
                    lock_timeout=timeout,
                    waiting=lambda message: self.stderr.write(message),
                )
        except (TranscriptPathError, ImportFailed) as exc:
            raise CommandError(str(exc)) from None
        for warning in result.warnings:
            self.stderr.write(f"warning: {warning}")
        if json:
            self.stdout.write(as_json(result))
        else:
            self.stdout.write(summary(result, dry_run=dry_run))


def as_json(result: ImportResult) -> str:
    data = {
        "files": result.files,
        "lines": result.lines,
        "bad_lines": result.bad_lines,
        "sessions": result.figures,
        "projects": [p.as_dict() for p in result.projects],
    }
    if result.skipped:  # only then: a run that read everything has the exact shape
        data["skipped"] = [
            {"path": s.path, "kind": s.kind, "reason": s.reason} for s in result.skipped
        ]
    return json.dumps(data, indent=2)


# Said when a run created projects: how to choose where sessions go, and how to tidy up.
PROJECT_HINT = (
    "  New projects are named after each session's folder. To choose instead: --project SLUG,\n"
    "  or a path rule (admin: Project rules). To tidy up later: admin, Projects, the actions\n"
    "  'Merge the selected projects into one' and 'Rename'."
)


def project_lines(result: ImportResult, *, dry_run: bool) -> list[str]:
    """The summary's lines naming the projects used and those created (would be, dry run)."""
    if not result.projects:
        return []
    created = [p.slug for p in result.projects_created]
    used = [f"{p.slug} ({p.sessions})" for p in result.projects]
    lines = [f"Projects used: {len(used)}: " + ", ".join(used)]
    if created:
        verb = "would be created" if dry_run else "created"
        lines += [f"Projects {verb}: {len(created)}: " + ", ".join(created), PROJECT_HINT]
    return lines


def summary(result: ImportResult, *, dry_run: bool) -> str:
    """The human summary: what the run read, and the touched sessions' totals."""
    tokens = {"input": 0, "output": 0, "cache_creation": 0, "cache_read": 0}
    calls = errors = 0
    cost: Decimal | None = Decimal(0)
    for figures in result.figures:
        for kind in tokens:
            tokens[kind] += figures["tokens"][kind]
        calls += sum(figures["tool_calls"].values())
        errors += figures["tool_errors"]
        if cost is not None and figures["cost_usd"] is not None:
            cost += Decimal(str(figures["cost_usd"]))
        elif figures["requests"]:
            cost = None
    mb = result.bytes / 1_000_000
    lines = [
        ("Dry run, nothing stored. " if dry_run else "")
        + f"Files: {result.files} ({result.files_changed} with new lines, {mb:.2f} MB read, "
        f"{result.rewritten} rewritten)",
        f"Lines: {result.lines:,} ({result.bad_lines} skipped as bad)",
        f"Requests: {result.requests_new:,} new, {result.requests_updated:,} raised (max-wins)",
        f"Tool calls: {result.tool_calls:,} new, {result.tool_errors:,} of them errors",
        f"Sessions touched: {len(result.figures)}",
    ]
    if result.skipped:
        files, folders = result.unreadable("file"), result.unreadable("folder")
        lines.insert(
            1,
            f"Unreadable, skipped: {files} file{'s' * (files != 1)}, "
            f"{folders} folder{'s' * (folders != 1)} (see the warnings; a later run reads them)",
        )
    if result.figures:
        lines += [
            "  tokens: "
            + ", ".join(f"{kind.replace('_', ' ')} {n:,}" for kind, n in tokens.items()),
            f"  tool calls: {calls:,} ({errors:,} errors)",
            "  cost: "
            + (f"${cost:,.4f}" if cost is not None else "not known (a model has no price)"),
        ]
    return "\n".join(lines + project_lines(result, dry_run=dry_run))
