"""`manage.py mcp` over stdio, driven by the SDK's own client in a real subprocess: its tools
answer what the REST API answers on the same data, and refuse what the API refuses."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from tests.analytics import servers
from tests.integrations.mcp_support import (
    READ_TOOLS,
    answer,
    record_session,
    record_usage,
    session_calls,
    stdio_params,
)
from tracking.models import Checkpoint

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def database(django_db_setup) -> str:
    url = servers.database_url()
    if url is None:
        pytest.skip("the server subprocess shares the test database: needs Postgres")
    return url


def rest(key: str, path: str) -> dict:
    response = Client().get(path, HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200, response.content
    return response.json()


def test_it_lists_the_checkpoint_tool_only_to_a_writer(database, project):
    writer, reader = (
        session_calls(stdio_params(database, "--project", "alpha", *flags), [("list_tools", None)])
        for flags in ([], ["--read-only"])
    )
    assert {t.name for t in writer[0].tools} == READ_TOOLS | {"checkpoint"}
    assert {t.name for t in reader[0].tools} == READ_TOOLS
    schema = next(t for t in writer[0].tools if t.name == "trend").input_schema
    assert schema["required"] == ["skill"]
    assert schema["properties"]["days"] == {
        "type": "integer", "minimum": 1, "maximum": 366, "default": 14,
    }  # fmt: skip


def test_each_read_tool_answers_what_the_rest_api_answers(database, project, read_key):
    data = record_session(project)
    record_usage(project)
    since = (datetime.now(UTC) - timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    until = since + timedelta(hours=5)
    at = datetime.now(UTC).isoformat()
    window = {"since": since.isoformat(), "until": until.isoformat()}
    calls = [
        ("call_tool", ("session_summary", {"session": data.session.pk})),
        ("call_tool", ("latest_report", {})),
        ("call_tool", ("quality_trend", {"session": data.session.pk})),
        ("call_tool", ("skill_stats", window)),
        ("call_tool", ("anomalies", {})),
        ("call_tool", ("trend", {"skill": "Bash", "days": 3, "at": at})),
        ("call_tool", ("live_snapshot", {})),
        ("call_tool", ("related_skills", {"skill": "ruff"})),
        ("call_tool", ("recommendations", {"user": "zoe", "at": at})),
        ("call_tool", ("experiment_results", {"key": "tests-first"})),
    ]
    raw = session_calls(stdio_params(database, "--project", "alpha"), calls)
    summary, report, trend, skills, anomalies, skill_trend, live, related, advice, results = (
        answer(r) for r in raw
    )

    assert summary["session"] == rest(read_key, f"/api/v1/sessions/{data.session.pk}")
    assert summary["tool_calls"] == 3
    assert summary["score_change"]["start_checkpoint"] == data.start.pk
    assert summary["score_change"]["end_checkpoint"] == data.end.pk
    start, end = (rest(read_key, f"/api/v1/checkpoints/{c.pk}") for c in (data.start, data.end))
    assert summary["score_change"]["start"] == start["score_total"]
    assert summary["score_change"]["end"] == end["score_total"]
    assert summary["score_change"]["delta"] > 0  # coverage went from 60 % to 80 %

    end.pop("measurements")
    assert report["checkpoint"] == end
    page = Client()
    page.force_login(project.members.get())
    markdown = page.get(f"/p/alpha/c/{data.end.pk}/report.md").content.decode()
    assert report["markdown"] == markdown

    listed = rest(read_key, f"/api/v1/checkpoints?session={data.session.pk}")["results"]
    assert trend["checkpoints"] == list(reversed(listed))
    assert trend["change_since_session_start"] == summary["score_change"]

    query = f"since={window['since']}&until={window['until']}".replace("+", "%2B")
    assert skills == rest(read_key, f"/api/v1/projects/alpha/skills?{query}")
    assert [(s["skill"], s["invocations"], s["failed"]) for s in skills["skills"]] == [
        ("Bash", 2, 1),
        ("Read", 1, 0),
    ]
    assert anomalies["results"] == rest(read_key, "/api/v1/anomalies")["results"]
    assert [a["skill"] for a in anomalies["results"]] == ["Bash"]
    at_query = at.replace("+", "%2B")
    assert skill_trend == rest(
        read_key, f"/api/v1/skills/Bash/trend?project=alpha&days=3&at={at_query}"
    )
    assert live["scope"] == {"kind": "project", "project": "alpha"}
    assert live["active_sessions"]["count"] == 1
    assert [(s["skill"], s["invocations_24h"]) for s in live["top_skills"]] == [
        ("Bash", 2),
        ("Read", 1),
    ]

    assert related == rest(read_key, "/api/v1/skills/ruff/related?project=alpha")
    assert (related["origin"], related["n_sessions"]) == ("stored", 72)
    counts = {r["skill"]: (r["count_a"], r["count_b"], r["count_ab"]) for r in related["related"]}
    assert counts == {"mypy": (37, 6, 6), "pytest": (37, 37, 27)}  # Bash: never with ruff
    assert [r["skill"] for r in related["related"]] == ["mypy", "pytest"]  # lift 1.95, 1.42
    assert related["related"][1]["lift"] == pytest.approx(27 * 72 / (37 * 37))
    assert raw[7].content[0].text.splitlines()[1:] == [
        "mypy: lift 1.95, both in 6 sessions, q 0.0149, moderate",
        "pytest: lift 1.42, both in 27 sessions, q 0.000514, weak",
    ]
    rest_advice = rest(read_key, f"/api/v1/recommendations?project=alpha&user=zoe&at={at_query}")
    assert advice.pop("computed_at") and rest_advice.pop("computed_at")  # each call's own time
    assert advice == rest_advice
    assert (advice["n"], advice["user_completed"]) == (12, ["pytest"])
    (mypy,) = advice["recommendations"]  # ruff was tried (and failed): not recommended
    assert (mypy["skill"], mypy["source"]) == ("mypy", "item_item_cosine")
    assert mypy["score"] == pytest.approx(6 / math.sqrt(7 * 6))  # 6 of pytest's 7 users
    assert raw[8].content[0].text.splitlines() == [
        "Skills to try for zoe, from 12 users:",
        "mypy: 0.926 (item_item_cosine, completed by 6 users)",
        "Similar users: none.",
    ]
    rest_results = rest(read_key, "/api/v1/experiments/tests-first/results")
    assert results.pop("computed_at") and rest_results.pop("computed_at")
    assert results == rest_results
    assert (results["status"], results["n"]) == ("stopped", 10)
    # The exposed sessions' calls were 40 days before the start: no data, no decision.
    assert results["decision"] == "insufficient_data"
    assert sum(u["units"] for u in results["units"]) == 10
    assert raw[9].content[0].text.startswith("Experiment tests-first (stopped): 10 units (")


def test_resources_are_the_reports_and_session_summaries(database, project):
    data = record_session(project)
    calls = [
        ("list_resources", None),
        ("read_resource", f"cairn://checkpoints/{data.end.pk}"),
        ("read_resource", f"cairn://sessions/{data.session.pk}"),
    ]
    listed, report, summary = session_calls(stdio_params(database, "--project", "alpha"), calls)
    uris = [r.uri for r in listed.resources]
    assert uris == [
        f"cairn://checkpoints/{data.end.pk}",
        f"cairn://checkpoints/{data.start.pk}",
        f"cairn://sessions/{data.session.pk}",
    ]
    assert report.contents[0].mime_type == "text/markdown"
    assert f"#{data.end.pk}" in report.contents[0].text
    assert '"tool_calls": 3' in summary.contents[0].text


def test_bad_arguments_are_tool_errors_naming_the_field(database, project, other_project):
    data = record_session(project)
    foreign = record_session(other_project)
    calls = [
        ("call_tool", ("trend", {"skill": "Bash", "days": 0})),
        ("call_tool", ("skill_stats", {"window": "7 days"})),
        ("call_tool", ("anomalies", {"status": "closed"})),
        ("call_tool", ("session_summary", {"session": "one"})),
        ("call_tool", ("session_summary", {"session": foreign.session.pk})),
        ("call_tool", ("latest_report", {"project": "beta"})),
        ("call_tool", ("quality_trend", {"session": data.session.pk, "limt": 3})),
        ("call_tool", ("checkpoint", {"path": "/nonexistent/repo"})),
        ("call_tool", ("no_such_tool", {})),
        ("call_tool", ("related_skills", {"skill": "ruff", "days": 0})),
        ("call_tool", ("related_skills", {"days": 30})),
        ("call_tool", ("recommendations", {"user": "zoe", "limit": 51})),
        ("call_tool", ("experiment_results", {"key": "tests first"})),
        ("call_tool", ("experiment_results", {"key": "no-such"})),
    ]
    results = session_calls(stdio_params(database, "--project", "alpha"), calls)
    assert all(r.is_error for r in results)
    reasons = [r.content[0].text for r in results]
    assert reasons[0] == "days: Ensure this value is greater than or equal to 1."
    assert reasons[1].startswith("window: Use <n>h or <n>d")
    assert reasons[2] == 'status: "closed" is not a valid choice.'
    assert reasons[3] == "session: A valid integer is required."
    assert reasons[4] == f"No session {foreign.session.pk}."  # another project's: as unknown
    assert reasons[5] == "No project 'beta'."
    assert reasons[6] == "limt: not an argument of quality_trend."
    assert reasons[7] == "path: /nonexistent/repo: not a directory"
    assert reasons[8] == "no_such_tool: no such tool."
    assert reasons[9] == "days: Ensure this value is greater than or equal to 1."
    assert reasons[10] == "skill: This field is required."
    assert reasons[11] == "limit: Ensure this value is less than or equal to 50."
    assert reasons[12] == (
        'key: Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.'
    )
    assert reasons[13] == "No experiment 'no-such'."


def test_the_checkpoint_tool_records_a_checkpoint_of_a_local_repository(database, project, repo):
    repo.commit("init", {"README.md": "# r\n", "app.py": "x = 1\n"})
    arguments = {"path": str(repo.root), "session": "claude-s1"}
    first, second = session_calls(
        stdio_params(database, "--project", "alpha"),
        [("call_tool", ("checkpoint", arguments))] * 2,
    )
    one, two = answer(first), answer(second)
    assert [one["checkpoint"]["kind"], two["checkpoint"]["kind"]] == ["start", "manual"]
    stored = Checkpoint.objects.get(pk=two["checkpoint"]["id"])
    assert stored.session is not None and stored.session.external_id == "claude-s1"
    assert stored.commit == repo.git("rev-parse", "HEAD")
    assert two["markdown"] == second.content[0].text
    assert f"#{stored.pk}" in two["markdown"]


def test_a_read_only_stdio_server_refuses_the_checkpoint_tool(database, project, repo):
    repo.commit("init", {"README.md": "# r\n"})
    (result,) = session_calls(
        stdio_params(database, "--project", "alpha", "--read-only"),
        [("call_tool", ("checkpoint", {"path": str(repo.root)}))],
    )
    assert result.is_error
    assert result.content[0].text == "checkpoint: this API key is read-only."
    assert not Checkpoint.objects.exists()
