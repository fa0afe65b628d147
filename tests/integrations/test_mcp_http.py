"""MCP over streamable HTTP at /mcp/ on a real Daphne, driven by the SDK's own client: the key
decides the tools and the project, the answers are the REST API's (served by the same Daphne),
and the host, origin, size and key checks hold."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import httpx2
import pytest
from mcp.client.streamable_http import streamable_http_client

from tests.analytics import servers
from tests.integrations.mcp_support import (
    READ_TOOLS,
    answer,
    record_session,
    record_usage,
    session_calls,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def daphne(django_db_setup, tmp_path_factory):
    database = servers.database_url()
    if database is None:
        pytest.skip("the server process shares the test database: needs Postgres")
    port = servers.free_port()
    env = servers.server_env(
        DATABASE_URL=database, REDIS_URL="", INGEST_MAX_BYTES="65536", API_KEY_FAILURE_LIMIT="3"
    )
    process = servers.daphne(port, env, tmp_path_factory.mktemp("mcp") / "daphne.log")
    try:
        servers.wait_until_serving(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stop()


def mcp_http(url: str, key: str):
    client = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=60)
    return streamable_http_client(f"{url}/mcp/", http_client=client)


def get(url: str, key: str) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - local server
        return json.loads(response.read())


def post(url: str, body: bytes, **headers: str) -> tuple[int, dict]:
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        **headers,
    }
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_tools_answer_what_the_rest_api_answers_for_the_keys_project(
    daphne, project, read_key, write_key
):
    data = record_session(project)
    record_usage(project)
    calls = [
        ("list_tools", None),
        ("call_tool", ("session_summary", {"session": data.session.pk})),
        ("call_tool", ("quality_trend", {})),
        ("call_tool", ("anomalies", {})),
        ("call_tool", ("latest_report", {})),
        ("call_tool", ("checkpoint", {"path": "/tmp"})),
        ("call_tool", ("related_skills", {"skill": "pytest", "days": 90})),
        ("call_tool", ("recommendations", {"user": "u-0", "limit": 5})),
        ("call_tool", ("experiment_results", {"key": "tests-first", "project": "alpha"})),
    ]
    listed, summary, trend, anomalies, report, checkpoint, related, advice, results = session_calls(
        mcp_http(daphne, read_key), calls
    )
    # Over HTTP there is no local disk to measure: no checkpoint tool, whatever the key.
    assert {t.name for t in listed.tools} == READ_TOOLS
    (write_listed,) = session_calls(mcp_http(daphne, write_key), [("list_tools", None)])
    assert {t.name for t in write_listed.tools} == READ_TOOLS

    summary = answer(summary)
    assert summary["session"] == get(f"{daphne}/api/v1/sessions/{data.session.pk}", read_key)
    assert summary["tool_calls"] == 3
    listed_checkpoints = get(f"{daphne}/api/v1/checkpoints?project=alpha", read_key)["results"]
    assert answer(trend)["checkpoints"] == list(reversed(listed_checkpoints))
    assert answer(anomalies)["results"] == get(f"{daphne}/api/v1/anomalies", read_key)["results"]
    assert answer(report)["checkpoint"]["id"] == data.end.pk
    assert checkpoint.is_error and checkpoint.content[0].text == "checkpoint: no such tool."

    related = answer(related)
    assert related == get(f"{daphne}/api/v1/skills/pytest/related?project=alpha&days=90", read_key)
    assert [r["skill"] for r in related["related"]] == ["mypy", "ruff"]
    assert related.pop("origin") == "stored"
    advice, rest_advice = (
        answer(advice),
        get(f"{daphne}/api/v1/recommendations?project=alpha&user=u-0&limit=5", read_key),
    )
    for body in (advice, rest_advice):  # each call's own time
        for field in ("computed_at", "window_start", "window_end"):
            body.pop(field)
    assert advice == rest_advice
    assert advice["user_completed"] == ["mypy", "pytest", "ruff"]
    assert [u["user"] for u in advice["similar_users"]] == ["u-1", "u-2", "u-3", "u-4", "u-5"]
    results, rest_results = (
        answer(results),
        get(f"{daphne}/api/v1/experiments/tests-first/results", read_key),
    )
    assert results.pop("computed_at") and rest_results.pop("computed_at")
    assert results == rest_results


def test_a_key_sees_only_its_own_project(daphne, project, other_project, read_key):
    foreign = record_session(other_project)
    calls = [
        ("call_tool", ("session_summary", {"session": foreign.session.pk})),
        ("call_tool", ("skill_stats", {"project": "beta"})),
        ("read_resource", f"cairn://checkpoints/{foreign.end.pk}"),
        ("list_resources", None),
        ("call_tool", ("related_skills", {"skill": "Bash", "project": "beta"})),
        ("call_tool", ("recommendations", {"user": "zoe", "project": "beta"})),
        ("call_tool", ("experiment_results", {"key": "tests-first", "project": "beta"})),
    ]
    summary, skills, read, listed, *analytics = session_calls(mcp_http(daphne, read_key), calls)
    assert summary.content[0].text == f"No session {foreign.session.pk}."
    assert skills.content[0].text == "No project 'beta'."
    assert [(r.is_error, r.content[0].text) for r in analytics] == [
        (True, "No project 'beta'.")
    ] * 3
    assert str(read) == f"No checkpoint {foreign.end.pk}."
    assert listed.resources == []


def test_host_origin_and_size_are_checked_as_for_the_api(daphne, project, read_key):
    auth = {"Authorization": f"Bearer {read_key}"}
    ping = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}).encode()
    status, body = post(f"{daphne}/mcp/", ping, Origin="http://evil.example", **auth)
    assert (status, body["error"]["code"]) == (403, "permission_denied")
    status, body = post(f"{daphne}/mcp/", ping, Host="evil.example", **auth)
    assert (status, body["error"]["code"]) == (400, "bad_request")
    status, body = post(f"{daphne}/mcp/", b" " * 70_000 + ping, **auth)
    assert (status, body["error"]["message"]) == (413, "Body is larger than 65536 bytes.")


def test_wrong_or_missing_keys_are_refused_before_any_tool(daphne, project):
    initialize = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).encode()
    status, body = post(f"{daphne}/mcp/", initialize, Authorization="Bearer cairn_wrong")
    assert (status, body["error"]["code"]) == (401, "authentication_failed")
    status, body = post(f"{daphne}/mcp/", initialize)
    assert (status, body["error"]["code"]) == (401, "not_authenticated")
    with pytest.raises(Exception):  # noqa: B017 - the SDK raises its transport's error group
        session_calls(mcp_http(daphne, "cairn_wrong"), [("list_tools", None)])
    # The third unknown key from this address locks it out, as on the REST API.
    status, body = post(f"{daphne}/mcp/", initialize, Authorization="Bearer cairn_wrong")
    assert (status, body["error"]["code"]) == (429, "throttled")
