"""Who may connect to /ws/live/ and what each identity receives."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User

from analytics.ticker import Ticker
from config.asgi import application
from tests.analytics.conftest import ORIGIN, events, open_live, session_headers, subscribed

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
headers_for = sync_to_async(session_headers)
store = sync_to_async(events)


async def refused(headers, path="/ws/live/") -> tuple[dict, dict]:
    communicator, error = await open_live(headers, path)
    close = await communicator.receive_output()
    await communicator.disconnect()
    return error, close


async def test_it_closes_4001_without_credentials(live, project):
    error, close = await refused([ORIGIN])
    assert error["type"] == "error" and error["code"] == "unauthenticated"
    assert close == {"type": "websocket.close", "code": 4001}


async def test_it_closes_4001_for_a_wrong_key_even_with_a_valid_session(live, owner, project):
    headers = await headers_for(owner) + [(b"authorization", b"Bearer cairn_wrong")]
    error, close = await refused(headers)
    assert (error["code"], close["code"]) == ("unauthenticated", 4001)
    error, close = await refused(await headers_for(owner), "/ws/live/?token=cairn_wrong")
    assert (error["code"], close["code"]) == ("unauthenticated", 4001)


async def test_it_closes_4003_for_an_identity_that_may_see_no_project(live, project):
    await User.objects.acreate(username="nobody")
    lonely = await User.objects.aget(username="nobody")
    error, close = await refused(await headers_for(lonely))
    assert (error["code"], close["code"]) == ("forbidden", 4003)


async def test_it_refuses_a_foreign_origin_at_the_handshake(live, project, read_key):
    headers = [
        (b"origin", b"http://evil.example"),
        (b"authorization", f"Bearer {read_key}".encode()),
    ]
    communicator = WebsocketCommunicator(application, "/ws/live/", headers=headers)
    connected, _ = await communicator.connect()
    assert not connected
    no_origin = WebsocketCommunicator(application, "/ws/live/", headers=headers[1:])
    assert not (await no_origin.connect())[0]


async def test_it_accepts_a_session_and_a_query_token(live, owner, project, read_key):
    communicator, hello = await open_live(await headers_for(owner))
    assert (hello["via"], hello["user"], hello["projects"]) == ("session", "alice", ["alpha"])
    await communicator.disconnect()
    communicator, hello = await open_live([ORIGIN], f"/ws/live/?token={read_key}")
    assert hello["via"] == "api_key"
    await communicator.disconnect()


async def test_it_sends_each_client_only_its_visible_projects(
    live, owner, outsider, project, other_project
):
    now = datetime.now(UTC)
    await store(project, ("pytest", now, True, 1.0))
    await store(other_project, ("secret-skill", now, True, 1.0), ("pytest", now, False, 9.0))
    admin = await User.objects.acreate(username="root", is_superuser=True)
    alice = await subscribed(await headers_for(owner))
    charlie = await subscribed(await headers_for(outsider))
    root = await subscribed(await headers_for(admin))
    await Ticker().tick()
    seen_alice = await alice.receive_json_from()
    seen_charlie = await charlie.receive_json_from()
    seen_root = await root.receive_json_from()
    assert [(s["skill"], s["invocations_24h"]) for s in seen_alice["top_skills"]] == [("pytest", 1)]
    assert seen_alice["top_skills"][0]["completion_rate_24h"] == 1.0
    assert {s["skill"] for s in seen_charlie["top_skills"]} == {"pytest", "secret-skill"}
    assert [(s["skill"], s["invocations_24h"]) for s in seen_root["top_skills"]] == [
        ("pytest", 2),
        ("secret-skill", 1),
    ]
    assert seen_root["top_skills"][0]["completion_rate_24h"] == 0.5
    # A project one may not see is answered like one that does not exist.
    await alice.send_json_to({"type": "subscribe", "project": "beta"})
    assert (await alice.receive_json_from())["code"] == "unknown_project"
    await alice.send_json_to({"type": "subscribe", "skill": "secret-skill"})
    assert (await alice.receive_json_from())["code"] == "unknown_skill"
    for communicator in (alice, charlie, root):
        await communicator.disconnect()
