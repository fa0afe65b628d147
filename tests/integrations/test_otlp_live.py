"""Live over a real WebSocket: a session fed by Claude Code's OTLP export shows the OTLP-only
figures in its `session_updated` frames and in the snapshot's `active_sessions`, the same in
both, with the tokens of the export that caused the frame.

A real Daphne on the embedded defaults (its own SQLite file, in-memory layer, the ticker inside
the ASGI process), fed over HTTP as Claude Code feeds it."""

from __future__ import annotations

import time
import urllib.request

import pytest

from tests.analytics import servers
from tests.integrations.otlp_requests import NOW_NS, SESSION, START_NS, logs, metrics

# What the exports below add up to, as GET /api/v1/sessions/<id> would show it.
FIGURES = {
    "active_time_s": {"user": 42.5, "cli": 7.25},
    "lines_added": 12,
    "lines_removed": 5,
    "edit_decisions": {"accept": 3, "reject": 1},
    "commits": None,
    "pull_requests": None,
}
# 120 + 30 + 2,000 + 400 tokens over two requests.
TOTAL_TOKENS = 2550


@pytest.fixture(scope="module")
def daphne_server(tmp_path_factory):
    with servers.embedded_daphne(tmp_path_factory.mktemp("otlp-live")) as server:
        yield server


def export(port: int, signal: str, message, key: str) -> None:
    request = urllib.request.Request(  # noqa: S310 - the local test server
        f"http://127.0.0.1:{port}/otlp/v1/{signal}",
        data=message.SerializeToString(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/x-protobuf"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 200


def updated_with_figures(ws, timeout: float = 10.0) -> dict:
    """The next session_updated frame of the session with OTLP figures (the one sent when the
    session started, before any point was stored, has none)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        [frame] = servers.frames(ws, "session_updated", 1)
        if frame["session"]["external_id"] == SESSION and frame["session"]["otlp"] is not None:
            return frame
    raise AssertionError("no session_updated frame had the session's OTLP figures")


def snapshot_entry(ws, timeout: float = 10.0) -> dict:
    """The session's entry in the next metrics_update whose snapshot has its OTLP figures."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        [update] = servers.frames(ws, "metrics_update", 1)
        for entry in update["active_sessions"]["sessions"]:
            if entry["external_id"] == SESSION and entry["otlp"] is not None:
                return entry
    raise AssertionError("no metrics_update showed the session's OTLP figures")


def test_session_updated_and_the_snapshot_carry_the_same_otlp_figures(daphne_server):
    port, key = daphne_server["port"], daphne_server["key"]
    with servers.live(port, key) as ws:
        servers.frames(ws, "metrics_update", 1)  # subscribed: later events reach this client
        points = [
            ("lines_of_code.count", {"type": "added"}, 12),
            ("lines_of_code.count", {"type": "removed"}, 5),
            ("active_time.total", {"type": "user"}, 42.5),
            ("active_time.total", {"type": "cli"}, 7.25),
            ("code_edit_tool.decision", {"decision": "accept", "tool": "Edit"}, 3),
            ("code_edit_tool.decision", {"decision": "reject", "tool": "Edit"}, 1),
        ]
        export(port, "metrics", metrics([(*p, START_NS, NOW_NS) for p in points]), key)
        from_metrics = updated_with_figures(ws)
        requests = [
            ("api_request", {"request_id": "req_live_1", "model": "claude-opus-4-6",
                             "input_tokens": 120, "output_tokens": 30}),
            ("api_request", {"request_id": "req_live_2", "model": "claude-opus-4-6",
                             "input_tokens": 2000, "output_tokens": 400}),
        ]  # fmt: skip
        export(port, "logs", logs(requests), key)
        [from_logs] = servers.frames(ws, "session_updated", 1)  # the session exists: one
        entry = snapshot_entry(ws)

    assert from_metrics["session"]["otlp"] == FIGURES
    assert from_metrics["session"]["total_tokens"] is None  # no usage recorded yet
    # The frame of the logs export already counts that export's requests.
    assert from_logs["session"]["external_id"] == SESSION
    assert from_logs["session"]["total_tokens"] == TOTAL_TOKENS
    assert from_logs["session"]["otlp"] == FIGURES
    assert entry["otlp"] == FIGURES
    assert entry["total_tokens"] == TOTAL_TOKENS
    # Every field of session_updated, no more and no fewer, in the snapshot's entry.
    assert set(entry) == set(from_logs["session"])
    log = daphne_server["process"].log.read_text()
    assert "Traceback" not in log, log[-2000:]
