"""The git collector on real repositories: commits, branches, merges, dirty and untracked files."""

from __future__ import annotations

import time

from quality.collectors import git as git_collector
from tests.repos import Repo


def values(readings) -> dict:
    return {r.key: r.value for r in readings}


def test_it_measures_a_clean_repository(repo):
    first = repo.commit("feat: first (#12)", {"a.txt": "1\n2\n"})
    repo.commit("fix thing", {"uv.lock": "x\n"})
    readings, info = git_collector.collect(repo.root)
    got = values(readings)
    assert info.head == repo.git("rev-parse", "HEAD") and info.head != first
    assert info.branch == "main"
    assert info.dirty is False
    assert got["git.is_repo"] == 1
    assert got["git.dirty"] == 0
    assert got["git.commits_total"] == 2
    assert got["git.commits_30d"] == 2
    assert got["git.conventional_share"] == 0.5
    assert got["git.issue_ref_share"] == 0.5
    assert 0 <= got["git.lockfile_age_days"] < 0.01
    assert got["git.ahead"] is None  # no upstream: not measured, not 0
    assert got["git.commits_since_start"] is None


def test_it_counts_work_since_the_start_commit_including_uncommitted_files(repo):
    start = repo.commit("chore: start", {"a.txt": "1\n2\n3\n"})
    repo.commit("feat: b", {"b.txt": "x\ny\n", "a.txt": "1\n3\n"})
    repo.write("a.txt", "1\n3\n4\n")  # modified, not committed
    repo.write("new.py", "print(1)\nprint(2)\nprint(3)\n")  # untracked
    repo.write("blob.bin", "\0\0\0")  # untracked binary: a file, no lines
    readings, info = git_collector.collect(repo.root, start_commit=start)
    got = values(readings)
    assert info.dirty is True
    assert got["git.modified_files"] == 1
    assert got["git.untracked_files"] == 2
    assert got["git.commits_since_start"] == 1
    assert got["git.merges_since_start"] == 0
    # a.txt: 1 2 3 -> 1 3 4 is +1 -1; b.txt +2; new.py +3
    assert got["git.lines_added"] == 6
    assert got["git.lines_removed"] == 1
    assert got["git.files_created"] == 3  # b.txt committed, new.py and blob.bin untracked


def test_it_sees_merges_and_feature_branches(repo):
    start = repo.commit("chore: start", {"a.txt": "a\n"})
    repo.git("checkout", "-q", "-b", "feature/login")
    repo.commit("feat: login", {"login.py": "x = 1\n"})
    repo.git("checkout", "-q", "main")
    repo.commit("docs: readme", {"README.md": "hi\n"})
    repo.git("merge", "-q", "--no-edit", "--no-ff", "feature/login")
    repo.git("branch", "feat/two")
    repo.git("branch", "bugfix")
    readings, _ = git_collector.collect(repo.root, start_commit=start)
    got = values(readings)
    assert got["git.commits_since_start"] == 3  # two commits and the merge
    assert got["git.merges_since_start"] == 1
    assert got["git.feature_branches"] == 2
    assert got["git.commits_30d"] == 3  # merges left out
    assert got["git.conventional_share"] == 1.0


def test_it_measures_ahead_and_behind_an_upstream(repo, tmp_path):
    repo.commit("one", {"a.txt": "a\n"})
    clone = tmp_path / "clone"
    repo.git("clone", "-q", str(repo.root), str(clone))
    repo.commit("two", {"b.txt": "b\n"})
    other = Repo(clone, init=False)
    other.git("config", "user.email", "x@example.org")
    other.git("config", "user.name", "X")
    other.commit("three", {"c.txt": "c\n"})
    other.git("fetch", "-q")
    got = values(git_collector.collect(clone)[0])
    assert (got["git.ahead"], got["git.behind"]) == (1, 1)


def test_it_says_why_it_cannot_measure(repo, tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    readings, info = git_collector.collect(plain)
    got = values(readings)
    assert got["git.is_repo"] == 0
    assert got["git.dirty"] is None
    assert {r.reason for r in readings if r.value is None} == {"not a git work tree"}
    assert info.head == ""
    empty = values(git_collector.collect(repo.root)[0])
    assert empty["git.commits_total"] is None
    repo.commit("one", {"a.txt": "a\n"})
    readings, _ = git_collector.collect(repo.root, start_commit="0" * 40)
    reasons = {r.key: r.reason for r in readings}
    assert reasons["git.lines_added"] == f"start commit {'0' * 40} is not in this repository"
    old = values(git_collector.collect(repo.root, now=time.time() + 40 * 86400)[0])
    assert old["git.commits_30d"] == 0
    assert old["git.conventional_share"] is None
