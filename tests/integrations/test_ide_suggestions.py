"""`POST /api/v1/ide/suggestions`: skills used after edits of files like this one, else rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from statsmodels.stats.proportion import proportion_confint

from analytics.models import ModelVersion
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
