"""Faults of the live WebSocket API: hostile client messages, consumers that end badly, and
a Redis outage under a running live view (docs/websocket-api.md, "Errors" and "Channel layer
outages").

The Daphne tests need Postgres (a NUL in a text field fails there, not in SQLite); the outage
test starts a throwaway redis-server of its own.
"""

from __future__ import annotations

import asyncio
import json
import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

from analytics.consumers import ClientError, parse_message, ping_id
from analytics.fanout import local_fanout
from analytics.ticker import Ticker
from lib.text import MAX_JSON_DEPTH
from tests.analytics import servers
from tests.analytics.conftest import bearer, subscribed
from tests.analytics.test_live_contract import section
from tests.properties import PROPERTY
from tracking import instruments

DOCUMENTED = set(re.findall(r"^\| `(\w+)` \|", section("Errors"), re.M))

# The messages of the issue that killed a consumer (close 1011) and left it in the fan-out,
# with the error each must now get. A NUL in a skill is refused by the field's text check
# (bad_request) or, failing that, by Postgres: the consumer reports it (server_error); SQLite
# stores NUL, so there the skill is merely unknown.
CRASHERS = [
    ('{"type": ["x"]}', {"unknown_type"}),
    ('{"type": "ping", "id": NaN}', {"bad_json"}),
    ("[" * 1000 + "]" * 1000, {"bad_json"}),
    (
        '{"type": "subscribe", "skill": "py\\u0000test"}',
        {"bad_request", "server_error", "unknown_skill"},
    ),
]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
fields = st.sampled_from(["type", "id", "skill", "project", "skill_name", ""])
messages = st.dictionaries(
    fields, st.sampled_from(["ping", "subscribe", "unsubscribe", "get_metrics"]) | json_values
)
texts = (
    st.builds(json.dumps, json_values | messages)
    | st.text(max_size=60)
    | st.builds(lambda n: "[" * n + "]" * n, st.integers(0, 2000))
    | st.sampled_from(['{"type": "ping", "id": NaN}', '{"id": -Infinity}', "[1e400]", "{"])
)


@PROPERTY
@given(texts)
def test_the_parser_answers_any_text_with_a_message_or_a_documented_error(text):
    try:
        kind, data = parse_message(text)
    except ClientError as error:
        assert error.code in DOCUMENTED and str(error)
        return
    assert kind == data["type"] in {"ping", "subscribe", "unsubscribe", "get_metrics"}
    if kind == "ping":
        try:
            ident = ping_id(data)
        except ClientError as error:
            assert error.code == "bad_request" and "'id'" in str(error)
        else:
            assert ident is None or (type(ident) in (str, int, float) and ident == data["id"])


@pytest.mark.parametrize(
    ("text", "code", "names"),
    [
        ('{"type": ["x"]}', "unknown_type", "'type'"),
        ('{"type": 1}', "unknown_type", "'type'"),
        ('{"type": "ping", "id": NaN}', "bad_json", "NaN"),
        ('{"type": "ping", "id": 1e400}', "bad_json", "NaN"),
        ("[" * 1000 + "]" * 1000, "bad_json", f"{MAX_JSON_DEPTH} levels"),
        ('{"type": "ping", "id": ' + "[" * 64 + "]" * 64 + "}", "bad_json", "64 levels"),
        ('{"type": "ping", "id": "' + "[" * 40 + '"}', None, None),  # brackets in a string
        ('{"type": "ping", "x' + "y" * 100 + '": 1}', "bad_request", "'xyyy"),
    ],
)
def test_the_parser_names_what_is_wrong(text, code, names):
    if code is None:
        assert parse_message(text)[0] == "ping"
        return
    with pytest.raises(ClientError) as raised:
        parse_message(text)
    assert raised.value.code == code and names in str(raised.value)
    assert len(str(raised.value)) < 200


@pytest.mark.parametrize("ident", [[1], {"a": 1}, True])
def test_a_ping_id_of_another_type_is_a_bad_request(ident):
    with pytest.raises(ClientError, match="'id' must be a string or a number"):
        ping_id({"type": "ping", "id": ident})


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize(("text", "codes"), CRASHERS)
async def test_a_crashing_message_gets_an_error_and_the_consumer_stays(
    live, project, read_key, text, codes
):
    connections = instruments.live_connections._value.get()
    communicator = await subscribed(bearer(read_key))
    fanout = local_fanout()
    assert fanout.member_count() == 1
    await communicator.send_to(text_data=text)
    error = await communicator.receive_json_from()
    assert error["type"] == "error" and error["code"] in codes, error
    await communicator.send_json_to({"type": "ping", "id": "after"})
    assert (await communicator.receive_json_from())["id"] == "after"
    await Ticker().tick()
    assert (await communicator.receive_json_from())["type"] == "metrics_update"
    await communicator.disconnect()
    assert fanout.member_count() == 0
    assert instruments.live_connections._value.get() == connections


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize("ending", ["exception", "cancelled"])
async def test_a_consumer_that_ends_without_a_disconnect_leaves_the_fanout(
    live, project, read_key, ending
):
    connections = instruments.live_connections._value.get()
    communicator = await subscribed(bearer(read_key))
    fanout = local_fanout()
    assert (fanout.member_count(), instruments.live_connections._value.get()) == (
        1,
        connections + 1,
    )
    if ending == "exception":
        # A receive event with neither text nor bytes: Channels itself raises (KeyError).
        await communicator.send_input({"type": "websocket.receive"})
        with pytest.raises(KeyError):
            await communicator.wait(timeout=5)
    else:
        communicator.future.cancel()
        with pytest.raises(asyncio.CancelledError):
            await communicator.future
    assert fanout.member_count() == 0
    assert instruments.live_connections._value.get() == connections
    assert await Ticker().tick() == 0  # no view left to build for


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_error_replies_count_toward_the_rate_limit(live, project, read_key):
    communicator = await subscribed(bearer(read_key))
    for _ in range(20):
        await communicator.send_to(text_data='{"type": ["x"]}')
    for _ in range(20):
        assert (await communicator.receive_json_from())["code"] == "unknown_type"
    await communicator.send_to(text_data='{"type": ["x"]}')
    assert (await communicator.receive_json_from())["code"] == "rate_limited"
    assert await communicator.receive_output() == {"type": "websocket.close", "code": 4029}
    await communicator.disconnect()
    assert local_fanout().member_count() == 0


# Real Daphne on Postgres: the exact scenario of the issue.


@pytest.fixture
def postgres_daphne(tmp_path):
    database = servers.database_url()
    if database is None:
        pytest.skip("needs Postgres (DATABASE_URL) shared with the server")
    env = servers.server_env(DATABASE_URL=database, REDIS_URL="", LIVE_TICK_SECONDS="0.2")
    port = servers.free_port()
    process = servers.daphne(port, env, tmp_path / "daphne.log")
    try:
        servers.wait_until_serving(port, process)
        yield port
    finally:
        process.stop()


async def _client(port: int, key: str) -> ClientConnection:
    return await connect(
        f"ws://127.0.0.1:{port}/ws/live/",
        origin=Origin(f"http://127.0.0.1:{port}"),
        additional_headers={"Authorization": f"Bearer {key}"},
        open_timeout=30,
    )


async def _reply(ws: ClientConnection, text: str) -> dict:
    """Send a message and return the first error frame after it (ticks may come first)."""
    await ws.send(text)
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
        if frame["type"] == "error":
            return frame


async def _batch(port: int, key: str, text: str, count: int) -> tuple[list, list[dict]]:
    gate = asyncio.Semaphore(50)  # within Twisted's listen backlog

    async def one() -> tuple[ClientConnection, dict]:
        async with gate:
            ws = await _client(port, key)
        return ws, await _reply(ws, text)

    done = await asyncio.gather(*(one() for _ in range(count)))
    return [ws for ws, _ in done], [error for _, error in done]


def _members(port: int) -> tuple[float, float]:
    sample = servers.metrics(port)
    return sample["cairn_live_connections"], sample["cairn_live_fanout_members"]


def _settles(port: int, expected: float, timeout: float = 15.0) -> tuple[float, float]:
    deadline = time.monotonic() + timeout
    while (found := _members(port)) != (expected, expected) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


@pytest.mark.django_db(transaction=True)
def test_200_of_each_crashing_message_leave_no_consumer_behind(postgres_daphne, read_key):
    port = postgres_daphne
    for text, codes in CRASHERS:
        sockets, errors = asyncio.run(_open_and_keep(port, read_key, text))
        assert {e["code"] for e in errors} <= codes, (text, errors[0])
        assert len(errors) == 200
        assert _settles(port, 0) == (0, 0), text
    sent = servers.metrics(port)["cairn_live_frames_sent_total"]
    time.sleep(1.0)  # five ticks: none may be handed to a consumer that ended
    assert servers.metrics(port)["cairn_live_frames_sent_total"] == sent


async def _open_and_keep(port: int, key: str, text: str) -> tuple[int, list[dict]]:
    """200 clients send the message; while they are open the server counts exactly them."""
    sockets, errors = await _batch(port, key, text, 200)
    assert await asyncio.to_thread(_settles, port, 200) == (200, 200)
    await asyncio.gather(*(ws.close() for ws in sockets))
    return len(sockets), errors


# A Redis outage under a running live view.


@pytest.fixture
def redis_cluster(tmp_path):
    database = servers.database_url()
    if database is None:
        pytest.skip("needs Postgres (DATABASE_URL) shared with the servers")
    redis = servers.RedisServer(servers.free_port(), tmp_path)
    redis.start()
    env = servers.server_env(DATABASE_URL=database, REDIS_URL=redis.url, LIVE_TICK_SECONDS="0.2")
    port = servers.free_port()
    processes = [
        servers.daphne(port, env, tmp_path / "daphne.log"),
        servers.live_broadcast(env, tmp_path / "ticker.log"),
    ]
    try:
        servers.wait_until_serving(port, processes[0])
        yield {"port": port, "redis": redis, "daphne": processes[0]}
    finally:
        for process in processes:
            process.stop()
        redis.kill()


DOWN = {"type": "status", "live": False, "reason": "channel layer unavailable"}


@pytest.mark.django_db(transaction=True)
def test_clients_are_told_of_a_redis_outage_and_ticks_resume_after_it(redis_cluster, read_key):
    port, redis = redis_cluster["port"], redis_cluster["redis"]
    with servers.live(port, read_key) as ws:
        servers.frames(ws, "metrics_update", 2)
        redis.kill()
        killed = time.monotonic()
        [down] = servers.frames(ws, "status", 1, timeout=10)
        assert time.monotonic() - killed < 5
        assert {k: down[k] for k in DOWN} == DOWN and down["server_time"].endswith("Z")
        # A client connecting during the outage is told right after `connected`.
        with servers.live(port, read_key) as late:
            hello, status, confirmed = (json.loads(late.recv(timeout=10)) for _ in range(3))
            assert hello["type"] == "connected"
            assert {k: status[k] for k in DOWN} == DOWN
            assert confirmed == {"type": "subscription_confirmed", "scope": {"kind": "all"}}
            late.send(json.dumps({"type": "ping", "id": 1}))
            assert servers.frames(late, "pong", 1)[0]["id"] == 1
            # Ten ticks of outage: nothing flows, and nothing is said twice.
            assert _frames_within(ws, 2.0) == []
            redis.start()  # same port, empty: the views' registrations are gone
            for client in (ws, late):
                [up] = servers.frames(client, "status", 1, timeout=15)
                assert up["live"] is True and "reason" not in up
                updates = servers.frames(client, "metrics_update", 3, timeout=10)
                seqs = [u["seq"] for u in updates]
                assert seqs == list(range(seqs[0], seqs[0] + 3))


def _frames_within(ws, seconds: float) -> list[dict]:
    """Every frame a client receives within the next `seconds`."""
    found = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            found.append(json.loads(ws.recv(timeout=left)))
        except TimeoutError:
            break
    return found
