"""A real Daphne takes the direct frame write of `analytics/wire.py`: fan-out frames, built
once, go straight to each client's socket. The path rests on internals of Daphne, autobahn and
Twisted (the `send` partial, the protocol's state and queue, the transport's buffer and socket);
an upgrade that changes them must fail here rather than fall back quietly to the slower write.
The server's own counters (`cairn_live_frames_written_total` on /metrics) tell which path each
frame took."""

from __future__ import annotations

import re
import urllib.request

import pytest

from tests.analytics import servers

WRITTEN = re.compile(r'^cairn_live_frames_written_total\{path="(\w+)"\} (\S+)$', re.MULTILINE)


@pytest.fixture(scope="module")
def daphne_server(tmp_path_factory):
    """Daphne on the embedded defaults (its own SQLite file, in-memory layer, ticker inside)."""
    var = tmp_path_factory.mktemp("fast-path")
    with servers.embedded_daphne(var, METRICS_TOKEN=servers.METRICS_TOKEN) as server:
        yield server


def written(port: int) -> dict[str, float]:
    """The server's count of fan-out frames by write path."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/metrics",
        headers={"Authorization": f"Bearer {servers.METRICS_TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - the local server
        text = response.read().decode()
    return {path: float(count) for path, count in WRITTEN.findall(text)}


def test_daphne_writes_fanout_frames_straight_to_the_socket(daphne_server):
    port, key = daphne_server["port"], daphne_server["key"]
    # Offer permessage-deflate as browsers do: the direct write needs Daphne to decline it.
    with servers.live(port, key, compression="deflate") as ws:
        assert ws.protocol.extensions == [], "Daphne negotiated an extension"
        # The first tick settles the handshake's own writes (connected, subscription_confirmed),
        # which may still sit in Twisted's buffer and rightly send a frame the queued way.
        servers.frames(ws, "metrics_update", 1)
        before = written(port)
        updates = servers.frames(ws, "metrics_update", 5)
        after = written(port)
    assert set(before) == {"direct", "twisted", "asgi"}, before
    took = {path: after[path] - before[path] for path in before}
    seqs = [update["seq"] for update in updates]
    assert seqs == list(range(seqs[0], seqs[0] + 5)), "frames written directly arrive whole"
    # Every frame of the window went the direct way; at most one was written before `before`.
    assert took["asgi"] == 0, f"plain ASGI send: wire.protocol_of found no Daphne protocol: {took}"
    assert took["twisted"] == 0, f"queued write taken instead of the direct one: {took}"
    assert took["direct"] >= len(updates) - 1, took
    log = daphne_server["process"].log.read_text()
    assert "Traceback" not in log, log[-2000:]
