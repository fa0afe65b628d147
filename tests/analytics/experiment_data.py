"""Helpers of the experiment tests: the API calls, and sessions arriving through the hook."""

from __future__ import annotations

import json

HOOKS = "/api/v1/hooks/claude-code"
EXPERIMENTS = "/api/v1/experiments"

DESIGN = {
    "key": "tests-first",
    "name": "Write the test first",
    "hypothesis": "A rule to write the test first raises the completion rate.",
    "unit": "session",
    "arms": [
        {"key": "control", "weight": 0.5, "context": ""},
        {"key": "tests-first", "weight": 0.5, "context": "Write the failing test first."},
    ],
    "metrics": ["completion_rate"],
    "guardrail_metrics": ["tool_duration"],
    "planned_units": 400,
}


def post(client, key: str, url: str, body: object = None):
    data = json.dumps(body) if body is not None else ""
    return client.post(
        url, data, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )


def get(client, key: str, url: str, **params):
    return client.get(url, params, HTTP_AUTHORIZATION=f"Bearer {key}")


def session_start(client, key: str, session_id: str):
    payload = {
        "session_id": session_id,
        "cwd": "/home/me/cairn",
        "hook_event_name": "SessionStart",
        "source": "startup",
    }
    return post(client, key, HOOKS, payload)


def running_experiment(client, key: str, design: dict | None = None) -> dict:
    """Create and start an experiment through the API; its detail as the start answered."""
    design = design or DESIGN
    created = post(client, key, EXPERIMENTS, design)
    assert created.status_code == 201, created.content
    started = post(client, key, f"{EXPERIMENTS}/{design['key']}/start")
    assert started.status_code == 200, started.content
    return started.json()
