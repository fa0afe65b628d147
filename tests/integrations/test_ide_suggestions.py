"""`POST /api/v1/ide/suggestions`: skills used after edits of files like this one, else rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from scipy.stats import fisher_exact
from statsmodels.stats.proportion import proportion_confint

from analytics.dependencies import refresh_dependencies
from analytics.models import DependencyPass, ModelVersion
from analytics.predictor import store
from analytics.predictor.training import train
from integrations.claude_code.hooks import handle_hook
from integrations.ide.files import extension, is_test
from integrations.ide.models import FileEdit
from tests.analytics.predictor_data import SIGNAL, store_sessions
from tracking.ingest import InvocationEvent, record_invocations

pytestmark = pytest.mark.django_db
URL = "/api/v1/ide/suggestions"
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)


def edit(project, session: str, tool_id: str, path: str, at: datetime) -> None:
    """An agent's Edit, as its PostToolUse hook reports it."""
    tool_input = {"file_path": path, "old_string": "a", "new_string": "b"}
    payload = {
        "session_id": session, "hook_event_name": "PostToolUse", "tool_name": "Edit",
        "tool_use_id": tool_id, "tool_input": tool_input,
    }  # fmt: skip
    handle_hook(project, payload, now=at)


def call(project, session: str, key: str, skill: str, at: datetime, completed, duration) -> None:
    event = InvocationEvent(
        key=key,
        session=session,
        skill=skill,
        invoked_at=at,
        completed=completed,
        duration_s=duration,
    )
    record_invocations(project, [event], source="api")


@pytest.fixture
def history(project):
    m = timedelta(minutes=1)
    edit(project, "s1", "e1", "/home/me/app/tests/test_a.py", T0)
    call(project, "s1", "c1", "pytest", T0 + m, True, 4.0)
    call(project, "s1", "c2", "pytest", T0 + 2 * m, False, 9.0)  # not the first after e1
    call(project, "s1", "c3", "ruff", T0 + 3 * m, True, 1.0)
    t1 = T0 + 30 * m
    edit(project, "s1", "e2", "/home/me/app/tests/test_b.py", t1)
    call(project, "s1", "c4", "pytest", t1 + m, False, 6.0)
    call(project, "s1", "c5", "mypy", t1 + 20 * m, True, 2.0)  # outside the 10 min
    t2 = T0 + 90 * m
    edit(project, "s2", "e3", "C:\\work\\app\\test_c.py", t2)
    call(project, "s2", "c6", "pytest", t2 + timedelta(seconds=30), True, 5.0)
    t3 = T0 + 120 * m
    edit(project, "s2", "e4", "/home/me/app/src/app.py", t3)  # not a test file
    call(project, "s2", "c7", "ruff", t3 + m, True, 1.5)
    call(project, "s3", "c8", "pytest", T0 + m, True, 3.0)  # no edit in its session


def ask(api, key, **fields):
    body = {"project": "alpha", "file_path": "tests/test_new.py", "language": "python",
            "line": 3, "selection": "", **fields}  # fmt: skip
    return api.post(
        URL, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )


def test_file_names_are_read_for_extension_and_test_ness():
    assert (extension("a/B.PY"), is_test("a/tests/helpers.py"), is_test("src/app.py")) == (
        ".py",
        True,
        False,
    )
    assert is_test("web/button.spec.ts") and is_test("pkg/x_test.go") and not is_test("latest.py")
    assert extension("Makefile") == "" and is_test("C:\\a\\__tests__\\x.js")


def test_the_hooks_keep_an_edits_kind_not_its_path(project, history):
    assert FileEdit.objects.filter(project=project).count() == 4
    assert set(FileEdit.objects.values_list("extension", "is_test")) == {
        (".py", True),
        (".py", False),
    }


def test_history_ranks_the_skills_used_after_such_edits(api, project, read_key, history):
    response = ask(api, read_key)
    assert response.status_code == 200
    got = response.json()
    assert [s["skill"] for s in got] == ["pytest", "ruff"]
    pytest_ = got[0]
    # first pytest after each of the 3 test-file edits: passed 4.0 s, failed 6.0 s, passed 5.0 s
    assert (pytest_["n"], pytest_["completion_rate"]) == (3, pytest.approx(2 / 3))
    assert (pytest_["completion_rate_low"], pytest_["completion_rate_high"]) == pytest.approx(
        proportion_confint(2, 3, method="wilson")
    )
    assert pytest_["median_duration_s"] == 5.0
    assert pytest_["confidence"] == pytest.approx(3 / 5)
    assert pytest_["confidence_source"] == "smoothed_rate"  # no model was ever trained
    assert pytest_["basis"] == "history" and "3 of the last 3 edits" in pytest_["why"]
    ruff = got[1]
    assert (ruff["n"], ruff["completion_rate"], ruff["confidence"]) == (
        1,
        1.0,
        pytest.approx(2 / 3),
    )


def test_non_test_files_have_their_own_history(api, read_key, history):
    got = ask(api, read_key, file_path="lib/new.py").json()
    assert [(s["skill"], s["n"], s["median_duration_s"]) for s in got] == [("ruff", 1, 1.5)]


def test_rules_are_the_marked_fallback(api, project, read_key):
    call(project, "s9", "r1", "ruff", datetime.now(UTC) - timedelta(hours=1), True, 1.0)
    call(project, "s9", "r2", "ruff", datetime.now(UTC) - timedelta(hours=1), False, 1.0)
    call(project, "s9", "r3", "ruff", datetime.now(UTC) - timedelta(hours=1), True, 1.0)
    got = ask(api, read_key, file_path="src/app.py", selection="import os").json()
    assert [s["skill"] for s in got] == ["ruff", "mypy"]
    assert {s["basis"] for s in got} == {"rule"}
    assert got[0]["why"] == "rule: the selection contains 'import'"
    assert (got[0]["n"], got[0]["completion_rate"], got[0]["confidence"]) == (
        3, pytest.approx(2 / 3), pytest.approx(3 / 5),
    )  # fmt: skip
    # mypy has no history: not measured, and the smoothed rate of nothing is 1/2.
    assert (got[1]["n"], got[1]["completion_rate"], got[1]["confidence"]) == (0, None, 0.5)
    assert {s["confidence_source"] for s in got} == {"smoothed_rate"}
    assert ask(api, read_key, file_path="notes.txt", language="").json() == []


def test_with_an_active_model_the_confidence_is_the_predictors(api, project, read_key, history):
    # 300 sessions of September where pytest completes 40 % of the time and ruff 20 %.
    version = train(project, store_sessions(project, SIGNAL, sessions=300, seed=4))
    assert version.is_active, version.reason
    got = {s["skill"]: s for s in ask(api, read_key).json()}
    assert {s["confidence_source"] for s in got.values()} == {"predictor"}
    # The edit history alone says 2 of 3 and 1 of 1 (smoothed 3/5 and 2/3); the model, trained
    # on many more calls, puts both skills well below that, near their rates of 0.4 and 0.2.
    assert got["pytest"]["completion_rate"] == pytest.approx(2 / 3)
    assert 0.2 < got["pytest"]["confidence"] < 0.55
    assert 0.0 < got["ruff"]["confidence"] < 0.4
    assert got["ruff"]["confidence"] < got["pytest"]["confidence"]
    # In a session, the model also reads that session's calls (s1: pytest passed once in 3).
    in_session = {s["skill"]: s for s in ask(api, read_key, session="s1").json()}
    assert {s["confidence_source"] for s in in_session.values()} == {"predictor"}
    assert 0 < in_session["pytest"]["confidence"] < 1
    rules = ask(api, read_key, file_path="web/app.js", language="javascript").json()
    assert [(s["skill"], s["basis"], s["confidence_source"]) for s in rules] == [
        ("eslint", "rule", "predictor")
    ]
    assert 0 < rules[0]["confidence"] < 1


def test_a_model_that_is_not_active_leaves_the_smoothed_rate(api, project, read_key, history):
    version = train(project, store_sessions(project, SIGNAL, sessions=300, seed=4))
    ModelVersion.objects.filter(pk=version.pk).update(is_active=False)
    got = {s["skill"]: s for s in ask(api, read_key).json()}
    assert (got["pytest"]["confidence"], got["pytest"]["confidence_source"]) == (
        pytest.approx(3 / 5),
        "smoothed_rate",
    )


def test_a_model_that_fails_its_checks_is_not_used(api, project, read_key, history, caplog):
    version = train(project, store_sessions(project, SIGNAL, sessions=300, seed=4))
    stored = ModelVersion.objects.values_list("artifact", flat=True).get(pk=version.pk)
    assert stored is not None
    data = bytearray(stored)
    data[-1] ^= 1  # no longer the bytes its sha256 names
    ModelVersion.objects.filter(pk=version.pk).update(artifact=bytes(data))
    store._loaded.cache_clear()
    response = ask(api, read_key)
    assert response.status_code == 200
    got = {s["skill"]: s for s in response.json()}
    assert (got["pytest"]["confidence"], got["pytest"]["confidence_source"]) == (
        pytest.approx(3 / 5),
        "smoothed_rate",
    )
    assert "refused" in caplog.text


def test_bad_requests_name_the_field(api, read_key, other_project):
    missing = api.post(
        URL, json.dumps({"project": "alpha"}), content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {read_key}",
    )  # fmt: skip
    assert missing.status_code == 400 and "file_path" in missing.json()["error"]["detail"]
    bad_line = ask(api, read_key, line=0)
    assert bad_line.status_code == 400 and "line" in bad_line.json()["error"]["detail"]
    assert ask(api, read_key, file_path=7).status_code == 400
    assert ask(api, read_key, project="beta").status_code == 404
    assert api.post(URL, json.dumps({}), content_type="application/json").status_code == 401


# Dependencies: a seeded history with a stored pass, its figures counted here from the sets.
# Sessions e1…e5 each edit one test file, then call skills (minutes after the edit, outcome,
# duration); the others only call skills, ten days back, to make pairs go together.
EDIT_SESSIONS = {
    "e1": [("pytest", 1, True, 4.0), ("ruff", 2, True, 1.0)],
    "e2": [("pytest", 1, False, 6.0), ("ruff", 2, True, 1.0), ("mypy", 3, True, 2.0)],
    "e3": [("pytest", 1, True, 5.0), ("ruff", 3, True, 1.0)],
    "e4": [("pytest", 2, True, 3.0), ("mypy", 4, False, 2.0)],
    "e5": [("pytest", 1, True, 4.5), ("bandit", 2, False, 3.0)],
}
BACKGROUND = (
    [("pytest", "coverage")] * 30 + [("ruff", "bandit")] * 20 + [("mypy",)] * 25
    + [("docs", "mypy")] * 15 + [("docs",)] * 5
)  # fmt: skip


def session_sets() -> list[set[str]]:
    """Each session's distinct skills, as the seed below stores them (an edit is a call of
    the Edit tool)."""
    edits = [{"Edit", *(skill for skill, *_ in calls)} for calls in EDIT_SESSIONS.values()]
    return edits + [set(skills) for skills in BACKGROUND]


def lift_of(a: str, b: str) -> tuple[float, int, int]:
    """(lift, sessions with both, N) counted over session_sets()."""
    sets = session_sets()
    n, n_a = len(sets), sum(a in s for s in sets)
    n_b, n_ab = sum(b in s for s in sets), sum(a in s and b in s for s in sets)
    return n_ab * n / (n_a * n_b), n_ab, n


def bh_q(a: str, b: str) -> float:
    """Benjamini–Hochberg q of the pair among the pairs used together in ≥ 5 sessions, from
    Fisher's exact test (one-sided, more together than by chance)."""
    sets = session_sets()
    skills = sorted(set().union(*sets))
    p = {}
    for i, x in enumerate(skills):
        for y in skills[i + 1 :]:
            both = sum(x in s and y in s for s in sets)
            if both < 5:
                continue
            only_x = sum(x in s for s in sets) - both
            only_y = sum(y in s for s in sets) - both
            table = [[both, only_x], [only_y, len(sets) - both - only_x - only_y]]
            p[(x, y)] = fisher_exact(table, alternative="greater").pvalue
    ordered = sorted(p, key=p.get)  # type: ignore[arg-type]
    m, q, running = len(ordered), {}, 1.0
    for rank in range(m, 0, -1):
        running = min(running, p[ordered[rank - 1]] * m / rank)
        q[ordered[rank - 1]] = running
    return q[tuple(sorted((a, b)))]  # type: ignore[index]


@pytest.fixture
def paired(project):
    """The seed above, with the worker's dependency pass stored."""
    t = T0
    for name, calls in EDIT_SESSIONS.items():
        edit(project, name, f"{name}-edit", f"/w/tests/test_{name}.py", t)
        for skill, minutes, completed, duration in calls:
            at = t + timedelta(minutes=minutes)
            call(project, name, f"{name}-{skill}", skill, at, completed, duration)
        t += timedelta(hours=1)
    back = T0 - timedelta(days=10)
    for i, skills in enumerate(BACKGROUND):
        for j, skill in enumerate(skills):
            at = back + timedelta(minutes=10 * i + j)
            call(project, f"b{i}", f"b{i}-{skill}", skill, at, True, 1.0)
    assert refresh_dependencies() == (1, 0)


def test_skills_that_go_with_the_top_history_skills_rank_higher(api, read_key, paired):
    got = ask(api, read_key).json()
    # Follows of the 5 test-file edits: pytest 5, ruff 3, mypy 2, bandit 1. The anchors are
    # the 3 most followed; bandit goes with ruff, coverage with pytest, docs with mypy.
    bandit_lift, bandit_n, n = lift_of("ruff", "bandit")
    assert (bandit_n, n) == (20, 100) and bandit_lift == pytest.approx(2000 / 483)
    assert [(s["skill"], s["basis"]) for s in got] == [
        ("pytest", "history"),  # 5/5 = 1.0, no pair with another anchor
        ("bandit", "history"),  # 1/5 × 4.14 = 0.83
        ("ruff", "history"),  # 3/5 = 0.6
        ("mypy", "history"),  # 2/5 = 0.4
        ("coverage", "dependency"),  # lift 2.86 with pytest; docs (lift 1.79) is sixth
    ]
    scores = [s["score"] for s in got[:4]]
    assert scores == pytest.approx([1.0, 0.2 * bandit_lift, 0.6, 0.4])
    bandit = got[1]
    assert bandit["dependency"] == {
        "anchor": "ruff", "anchor_is": "history", "lift": pytest.approx(bandit_lift),
        "sessions_together": 20, "sessions": 100, "q_value": pytest.approx(bh_q("ruff", "bandit")),
        "days": 90,
    }  # fmt: skip
    assert bandit["dependency"]["q_value"] < 0.05
    assert bandit["why"] == (
        "used within 10 min after 1 of the last 5 edits of .py test files in this project; "
        "used together with ruff (one of the skills most used after edits of .py test files) "
        f"in 20 of the 100 sessions of the last 90 days: lift 4.14, q {bh_q('ruff', 'bandit'):.2g}"
    )
    # bandit's own figures are still those of its first call after the edit: failed, 3.0 s.
    assert (bandit["n"], bandit["completion_rate"], bandit["median_duration_s"]) == (1, 0.0, 3.0)
    assert got[0]["dependency"] is None and "used together" not in got[0]["why"]
    coverage = got[4]
    assert coverage["score"] is None and coverage["follows"] == 0
    assert coverage["dependency"]["lift"] == pytest.approx(lift_of("pytest", "coverage")[0])
    assert coverage["why"].startswith("not seen within 10 min after edits of .py test files; ")
    # Its figures are the project's last 30 days: 30 calls, all completed.
    assert (coverage["n"], coverage["completion_rate"], coverage["median_duration_s"]) == (
        30, 1.0, None,
    )  # fmt: skip
    assert coverage["confidence"] == pytest.approx(31 / 32)


def test_skills_that_go_with_what_the_session_used_rank_higher(api, project, read_key, paired):
    call(project, "live", "live-docs", "docs", datetime.now(UTC) - timedelta(minutes=5), True, 1)
    got = ask(api, read_key, session="live").json()
    docs_lift, docs_n, _ = lift_of("docs", "mypy")
    assert docs_n == 15 and docs_lift == pytest.approx(1500 / 840)
    # mypy: 2/5 × 1.79 = 0.71 passes ruff's 0.6 in this session only.
    assert [s["skill"] for s in got] == ["pytest", "bandit", "mypy", "ruff", "coverage"]
    mypy = got[2]
    assert mypy["score"] == pytest.approx(0.4 * docs_lift)
    assert (mypy["dependency"]["anchor"], mypy["dependency"]["anchor_is"]) == ("docs", "session")
    assert (
        "used together with docs (which this session used) in 15 of the 100 sessions"
        in (mypy["why"])
    )
    # A session Cairn has not seen has used nothing yet: the answer without a session.
    assert ask(api, read_key, session="not-yet").json() == ask(api, read_key).json()


def test_a_thin_history_is_completed_by_its_companions(api, project, read_key, paired):
    edit(project, "e6", "e6-edit", "/w/src/app.py", T0 + timedelta(hours=9))
    call(project, "e6", "e6-ruff", "ruff", T0 + timedelta(hours=9, minutes=1), True, 1.0)
    got = ask(api, read_key, file_path="src/new.py").json()
    assert [(s["skill"], s["basis"]) for s in got] == [
        ("ruff", "history"),
        ("bandit", "dependency"),
    ]
    assert got[0]["score"] == 1.0  # 1 of 1 edit; its pair with bandit is with no other anchor
    assert got[1]["dependency"]["anchor"] == "ruff"


def test_without_a_stored_pass_the_history_share_alone_ranks(api, read_key, paired):
    DependencyPass.objects.all().delete()
    got = ask(api, read_key).json()
    assert [(s["skill"], s["score"]) for s in got] == [
        ("pytest", 1.0), ("ruff", 0.6), ("mypy", 0.4), ("bandit", 0.2),
    ]  # fmt: skip
    assert {s["dependency"] is None for s in got} == {True}
