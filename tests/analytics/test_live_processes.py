"""Two real Daphne processes and the ticker on Redis: same ticks, events across processes,
slow readers cut off, and the load-test command measuring them.

Needs Postgres and Redis (the servers must share the test database and channel layer).
"""

from __future__ import annotations

import errno
import json
import socket
import time
from base64 import b64encode
from io import StringIO

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.management import call_command

from analytics import broadcast
from analytics.layer import channel_layer
from analytics.liveview import events_group
from tests.analytics import servers
from tests.analytics.servers import frames, live
from tracking.models import Checkpoint, Measurement

pytestmark = pytest.mark.django_db(transaction=True)
BUFFER_LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def cluster(django_db_setup, tmp_path_factory):
    database = servers.database_url()
    if database is None or not settings.REDIS_URL:
        pytest.skip("needs Postgres (DATABASE_URL) and Redis (REDIS_URL) shared with servers")
    import redis

    redis.Redis.from_url(settings.REDIS_URL).delete("cairn:live:views")
    logs = tmp_path_factory.mktemp("live")
    env = servers.server_env(
        DATABASE_URL=database, REDIS_URL=settings.REDIS_URL, LIVE_TICK_SECONDS="0.2"
    )
    ports = [servers.free_port(), servers.free_port()]
    # Server B cuts slow readers off early, so the test need not fill megabytes.
    slow_env = dict(env, LIVE_CLIENT_BUFFER_BYTES=str(BUFFER_LIMIT), LIVE_SLOW_CLIENT_SECONDS="1")
    processes = [
        servers.daphne(ports[0], env, logs / "a.log"),
        servers.daphne(ports[1], slow_env, logs / "b.log"),
        servers.live_broadcast(env, logs / "ticker.log"),
    ]
    try:
        for port, process in zip(ports, processes, strict=False):
            servers.wait_until_serving(port, process)
        yield {"ports": ports, "pids": [p.pid for p in processes[:2]]}
    finally:
        for process in processes:
            process.stop()


def test_it_sends_the_same_tick_to_clients_of_two_processes(cluster, project, read_key):
    a, b = cluster["ports"]
    with live(a, read_key) as one, live(b, read_key) as two:
        first = {f["seq"]: f for f in frames(one, "metrics_update", 5)}
        second = {f["seq"]: f for f in frames(two, "metrics_update", 5)}
    common = sorted(set(first) & set(second))
    assert common, (sorted(first), sorted(second))
    for seq in common:
        assert first[seq] == second[seq]  # same server_time, same figures
    assert first[common[0]]["scope"] == {"kind": "all"}


def test_it_pushes_events_from_one_process_to_clients_of_another(
    cluster, project, write_key, read_key
):
    a, b = cluster["ports"]
    with live(b, read_key) as watcher:
        frames(watcher, "metrics_update", 1)
        body = {
            "events": [
                {
                    "id": "e-1",
                    "session": "cross-process",
                    "skill": "pytest",
                    "invoked_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "completed": True,
                    "duration_s": 1.25,
                }
            ]
        }
        request = _post(a, "/api/v1/ingest/invocations", body, write_key)
        assert json.loads(request)["accepted"] == 1
        [updated] = frames(watcher, "session_updated", 1)
        assert updated["session"]["external_id"] == "cross-process"
        # The next ticks carry the event's invocation, read from the rollups.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            [update] = frames(watcher, "metrics_update", 1)
            if update["top_skills"]:
                break
        assert update["top_skills"][0]["skill"] == "pytest"
        assert update["top_skills"][0]["invocations_1h"] == 1
        assert update["top_skills"][0]["avg_duration_s"] == 1.25
        # A checkpoint stored by a third process (this one) reaches the client too.
        checkpoint = Checkpoint.objects.create(project=project, kind="ci", commit="f00d")
        broadcast.checkpoint_created(checkpoint)
        [created] = frames(watcher, "checkpoint_created", 1)
        assert (created["checkpoint"]["id"], created["checkpoint"]["kind"]) == (checkpoint.pk, "ci")


def _post(port: int, path: str, body: dict, key: str) -> str:
    import urllib.request

    request = urllib.request.Request(  # noqa: S310 - a local test server
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.read().decode()


def _stalled_client(port: int, key: str) -> socket.socket:
    """A WebSocket client that completes the handshake and then never reads again."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    nonce = b64encode(b"0123456789abcdef").decode()
    sock.sendall(
        (
            f"GET /ws/live/?token={key} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Origin: http://127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {nonce}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    assert sock.recv(1024).startswith(b"HTTP/1.1 101")
    return sock


async def _flood(group: str, count: int, size: int) -> None:
    """Push `count` events of `size` bytes to a project's clients, as the ticker process would."""
    layer = channel_layer()
    text = json.dumps({"type": "session_updated", "padding": "x" * size})
    for _ in range(count):
        await layer.group_send(group, {"type": "live.event", "group": group, "text": text})


def test_it_cuts_off_a_reader_that_stopped_without_delaying_the_others(cluster, project, read_key):
    port = cluster["ports"][1]
    stalled = _stalled_client(port, read_key)
    with live(port, read_key) as reader:
        frames(reader, "metrics_update", 1)
        # 6.5 MB: more than the kernel's socket buffers (tcp_wmem max 4 MiB) and the limit hold.
        async_to_sync(_flood)(events_group(project.pk), 400, 16384)
        frames(reader, "metrics_update", 3)  # the burst itself may overshoot: drops allowed
        ticks = frames(reader, "metrics_update", 10, timeout=10)
        seqs = [f["seq"] for f in ticks]
        assert seqs == list(range(seqs[0], seqs[0] + 10))  # the reader missed nothing
    # The server aborted the stalled connection: a reset, not a close handshake that would
    # wait behind the backlog. Checked without reading, which would un-stall the client.
    deadline = time.monotonic() + 5
    error = 0
    while time.monotonic() < deadline and not error:
        error = stalled.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        time.sleep(0.05)
    stalled.close()
    assert error == errno.ECONNRESET


def test_it_measures_delivery_and_latency_with_the_loadtest_command(cluster, project, read_key):
    checkpoint = Checkpoint.objects.create(project=project, kind="manual")
    out = StringIO()
    a, b = cluster["ports"]
    call_command(
        "loadtest",
        f"--url=ws://127.0.0.1:{a}/ws/live/",
        f"--url=ws://127.0.0.1:{b}/ws/live/",
        clients=20,
        duration=1.0,
        token=read_key,
        json=True,
        server_pid=cluster["pids"],
        attach_checkpoint=checkpoint.pk,
        stdout=out,
        stderr=StringIO(),
    )
    result = json.loads(out.getvalue())
    assert (result["connected"], result["failed"], result["errors"]) == (20, 0, 0)
    assert result["tick_seconds"] == 0.2
    assert result["ticks_in_window"] >= 4
    assert result["messages"] == result["expected_messages"] == 20 * result["ticks_in_window"]
    assert result["delivered_ratio"] == 1.0 and result["dropped"] == 0
    assert 0 < result["latency_ms"]["p50"] <= result["latency_ms"]["p99"] < 1000
    assert [s["pid"] for s in result["server"]] == cluster["pids"]
    assert all(s["cpu_percent"] is not None and s["rss_mb"] > 20 for s in result["server"])
    stored = {m.key: m.value for m in Measurement.objects.filter(checkpoint=checkpoint)}
    assert stored["loadtest.clients_connected"] == 20
    assert stored["loadtest.latency_p99_ms"] == result["latency_ms"]["p99"]


def test_it_counts_refused_clients_once_as_failed(cluster):
    out = StringIO()
    port = cluster["ports"][0]
    call_command(
        "loadtest",
        f"--url=ws://127.0.0.1:{port}/ws/live/",
        clients=3,
        duration=0.5,
        token="cairn_wrong",
        json=True,
        stdout=out,
        stderr=StringIO(),
    )
    result = json.loads(out.getvalue())
    assert (result["connected"], result["failed"], result["errors"]) == (0, 3, 3)
    assert result["error_detail"] == {"connect: error frame: unauthenticated": 3}
    assert result["latency_ms"] is None and result["delivered_ratio"] is None
