"""WebSocket messages with text Postgres cannot store or JSON nested too deep: an `error` frame
naming the field (docs/websocket-api.md), and the connection stays open."""

from __future__ import annotations

import json

import pytest

from tests.analytics.conftest import bearer, subscribed

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"type": "subscribe", "skill": "py\x00test"}, "skill"),
        ({"type": "subscribe", "skill": "py\ud800test"}, "skill"),
        ({"type": "subscribe", "project": "al\x00pha"}, "project"),
        ({"type": "get_metrics", "skill": "py\x00test"}, "skill"),
    ],
)
async def test_unstorable_text_is_an_error_naming_the_field(
    live, project, read_key, message, field
):
    communicator = await subscribed(bearer(read_key))
    await communicator.send_to(text_data=json.dumps(message))
    error = await communicator.receive_json_from()
    assert error["type"] == "error" and error["code"] == "bad_request"
    assert error["message"].startswith(f"'{field}' contains a ")
    await communicator.send_json_to({"type": "ping"})
    assert (await communicator.receive_json_from())["type"] == "pong"
    await communicator.disconnect()


async def test_a_message_nested_2000_deep_is_bad_json_naming_the_message(live, project, read_key):
    communicator = await subscribed(bearer(read_key))
    await communicator.send_to(text_data="[" * 2000 + "]" * 2000)  # within the 4 KiB limit
    error = await communicator.receive_json_from()
    assert error == {
        "type": "error",
        "code": "bad_json",
        "message": "'message' is nested more than 64 levels deep.",
    }
    await communicator.send_json_to({"type": "ping"})
    assert (await communicator.receive_json_from())["type"] == "pong"
    await communicator.disconnect()
