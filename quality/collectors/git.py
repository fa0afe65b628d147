"""Git state and history: branch, HEAD, dirty, ahead/behind, what changed since a start commit."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from quality.collectors.base import (
    LOCKFILES,
    Reading,
    Source,
    ToolError,
    measured,
    not_measured,
    run_tool,
)

GIT_TIMEOUT_S = 60.0
STATE_KEYS = (
    "git.dirty",
    "git.modified_files",
    "git.untracked_files",
    "git.commits_total",
    "git.commits_30d",
    "git.conventional_share",
    "git.issue_ref_share",
    "git.feature_branches",
)
UPSTREAM_KEYS = ("git.ahead", "git.behind")
SINCE_KEYS = (
    "git.commits_since_start",
    "git.merges_since_start",
    "git.lines_added",
    "git.lines_removed",
    "git.files_created",
)
CONVENTIONAL = re.compile(
    r"^(feat|fix|docs|style|refactor|perf|test|build|ci|chore|revert)(\([^)]*\))?!?: \S"
)
ISSUE_REF = re.compile(r"(^|[\s(])([\w.-]+/[\w.-]+)?#\d+\b|\b[A-Z][A-Z0-9]+-\d+\b")
FEATURE_BRANCH = re.compile(r"(^|/)(feature|feat)/")


@dataclass
class GitInfo:
    """What a checkpoint row needs besides readings."""

    head: str = ""
    branch: str = ""
    dirty: bool | None = None


class Git:
    def __init__(self, root: Path, version: str):
        self.root = root
        self.version = version

    def __call__(self, *args: str, ok: tuple[int, ...] = (0,)) -> str:
        run = run_tool(["git", *args], cwd=self.root, timeout=GIT_TIMEOUT_S)
        if run.returncode not in ok:
            raise ToolError(f"git {' '.join(args)}: {run.stderr.strip() or run.returncode}")
        return run.stdout

    def source(self, command: str) -> Source:
        return Source(tool="git", tool_version=self.version, artefact=command)


def git_version(root: Path) -> str:
    try:
        out = run_tool(["git", "--version"], cwd=root, timeout=GIT_TIMEOUT_S).stdout
    except ToolError:
        return ""
    return out.strip().removeprefix("git version ")


def open_repo(root: Path) -> Git | None:
    """A Git runner at the repository's top level, or None when `root` is not in a work tree."""
    version = git_version(root)
    if not version:
        return None
    git = Git(root, version)
    try:
        top = git("rev-parse", "--show-toplevel").strip()
    except ToolError:
        return None
    return Git(Path(top), version)


def collect(
    root: Path | str, *, start_commit: str = "", now: float | None = None
) -> tuple[list[Reading], GitInfo]:
    """Readings for the `git.*` keys; `start_commit` is the session's start (may be empty)."""
    root = Path(root)
    now = time.time() if now is None else now
    git = open_repo(root)
    if git is None:
        source = Source(tool="git", tool_version=git_version(root), artefact=str(root))
        reason = "not a git work tree" if source.tool_version else "git is not installed"
        readings = [measured("git.is_repo", False, source)] if source.tool_version else []
        keys: tuple[str, ...] = (*STATE_KEYS, *UPSTREAM_KEYS, *SINCE_KEYS, "git.lockfile_age_days")
        if not source.tool_version:
            keys = ("git.is_repo", *keys)
        return readings + not_measured(keys, source, reason), GitInfo()
    info = GitInfo()
    readings = [measured("git.is_repo", True, git.source("git rev-parse --show-toplevel"))]
    try:
        readings += _state(git, info, now)
    except ToolError as exc:
        readings += not_measured(STATE_KEYS + UPSTREAM_KEYS, git.source("git status"), str(exc))
    readings += _since(git, start_commit, info)
    readings += _lockfile_age(git, now)
    return readings, info


def _state(git: Git, info: GitInfo, now: float) -> list[Reading]:
    status_source = git.source("git status --porcelain=v2 --branch --untracked-files=all")
    status = git("status", "--porcelain=v2", "--branch", "--untracked-files=all", "-z")
    modified = untracked = 0
    ahead_behind: tuple[int, int] | None = None
    for entry in status.split("\0"):
        if entry.startswith("# branch.oid "):
            oid = entry.removeprefix("# branch.oid ")
            info.head = "" if oid == "(initial)" else oid
        elif entry.startswith("# branch.head "):
            head = entry.removeprefix("# branch.head ")
            info.branch = "" if head == "(detached)" else head
        elif entry.startswith("# branch.ab "):
            a, b = entry.removeprefix("# branch.ab ").split()
            ahead_behind = (int(a), -int(b))
        elif entry[:2] in ("1 ", "2 ", "u "):
            modified += 1
        elif entry.startswith("? "):
            untracked += 1
    # Porcelain v2 type-2 entries (renames) carry the original path as a separate NUL field; it
    # does not start with a type code, so it is skipped above.
    info.dirty = bool(modified or untracked)
    readings = [
        measured("git.dirty", info.dirty, status_source, head=info.head, branch=info.branch),
        measured("git.modified_files", modified, status_source),
        measured("git.untracked_files", untracked, status_source),
    ]
    if ahead_behind is None:
        readings += not_measured(UPSTREAM_KEYS, status_source, "the branch has no upstream")
    else:
        readings += [
            measured("git.ahead", ahead_behind[0], status_source),
            measured("git.behind", ahead_behind[1], status_source),
        ]
    if not info.head:
        return readings + not_measured(
            STATE_KEYS[3:], git.source("git log"), "the repository has no commits yet"
        )
    readings.append(
        measured(
            "git.commits_total",
            int(git("rev-list", "--count", "HEAD")),
            git.source("git rev-list --count HEAD"),
        )
    )
    since = int(now - 30 * 86400)
    log_source = git.source("git log --since=30.days --no-merges --format=%s")
    subjects = git("log", f"--since={since}", "--no-merges", "--format=%s").splitlines()
    readings.append(measured("git.commits_30d", len(subjects), log_source))
    if subjects:
        conventional = sum(1 for s in subjects if CONVENTIONAL.match(s))
        issues = sum(1 for s in subjects if ISSUE_REF.search(s))
        readings += [
            measured(
                "git.conventional_share", conventional / len(subjects), log_source, n=len(subjects)
            ),
            measured("git.issue_ref_share", issues / len(subjects), log_source, n=len(subjects)),
        ]
    else:
        readings += not_measured(
            ("git.conventional_share", "git.issue_ref_share"),
            log_source,
            "no commits in the last 30 days",
        )
    refs = git("for-each-ref", "--format=%(refname:short)", "refs/heads", "refs/remotes")
    names = sorted({r.split("/", 1)[1] if r.startswith("origin/") else r for r in refs.split()})
    feature = [n for n in names if FEATURE_BRANCH.search(n)]
    readings.append(
        measured(
            "git.feature_branches", len(feature), git.source("git for-each-ref"), names=feature
        )
    )
    return readings


def _since(git: Git, start: str, info: GitInfo) -> list[Reading]:
    """Commits, merges, lines and files since the session's start commit, up to the work tree."""
    source = git.source(f"git diff --numstat {start[:12]}" if start else "git diff")
    if not start:
        return not_measured(SINCE_KEYS, source, "no session start commit to compare with")
    if not info.head:
        return not_measured(SINCE_KEYS, source, "the repository has no commits yet")
    try:
        git("rev-parse", "--verify", "--quiet", f"{start}^{{commit}}")
    except ToolError:
        return not_measured(SINCE_KEYS, source, f"start commit {start} is not in this repository")
    span = f"{start}..HEAD"
    commits = int(git("rev-list", "--count", span))
    merges = int(git("rev-list", "--merges", "--count", span))
    added = removed = 0
    for line in git("diff", "--numstat", "-z", start).split("\0"):
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
            added, removed = added + int(parts[0]), removed + int(parts[1])
    created = [
        p for p in git("diff", "--name-only", "-z", "--diff-filter=A", start).split("\0") if p
    ]
    untracked = [
        p for p in git("ls-files", "-z", "--others", "--exclude-standard").split("\0") if p
    ]
    # A session's new files are often not committed yet: they count as created, their lines
    # as added.
    added += sum(_text_lines(git.root / p) for p in untracked)
    log_source = git.source(f"git rev-list --count {start[:12]}..HEAD")
    return [
        measured("git.commits_since_start", commits, log_source, start=start),
        measured("git.merges_since_start", merges, log_source, linear=merges == 0),
        measured("git.lines_added", added, source, untracked_files=len(untracked)),
        measured("git.lines_removed", removed, source),
        measured(
            "git.files_created", len(created) + len(untracked), source, committed=len(created)
        ),
    ]


def _text_lines(path: Path) -> int:
    """Lines of a text file; 0 for binary files, as git's numstat counts them."""
    try:
        data = path.read_bytes()
    except OSError:
        return 0
    if b"\0" in data[:8192]:
        return 0
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def _lockfile_age(git: Git, now: float) -> list[Reading]:
    """Days since the first tracked lockfile was last committed (commit date: mtimes lie)."""
    tracked = set(git("ls-files", "-z", "--", *LOCKFILES).split("\0")) - {""}
    lockfile = next((name for name in LOCKFILES if name in tracked), None)
    source = git.source(f"git log -1 --format=%ct -- {lockfile or 'uv.lock'}")
    if lockfile is None:
        return not_measured(["git.lockfile_age_days"], source, "no lockfile is committed")
    stamp = git("log", "-1", "--format=%ct", "--", lockfile).strip()
    if not stamp:
        return not_measured(["git.lockfile_age_days"], source, f"{lockfile} has no commit")
    age = max(0.0, (now - int(stamp)) / 86400)
    return [measured("git.lockfile_age_days", round(age, 2), source, file=lockfile)]


def head_of(root: Path | str) -> GitInfo:
    """Only HEAD and branch (to start a session before measuring); empty when not a repo."""
    info = GitInfo()
    git = open_repo(Path(root))
    if git is None:
        return info
    try:
        info.head = git("rev-parse", "--verify", "--quiet", "HEAD", ok=(0, 1)).strip()
        info.branch = git("branch", "--show-current").strip()
    except ToolError:
        pass
    return info
