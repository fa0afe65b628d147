"""analytics.broadcast: events pushed after commit to the clients that may see them."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction
from django.test import Client

from analytics import broadcast
from tests.analytics.conftest import bearer, session_headers, subscribed
from tracking.models import Checkpoint

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@sync_to_async
def create_checkpoint(project, *, roll_back: bool = False) -> None:
    with transaction.atomic():
        checkpoint = Checkpoint.objects.create(
            project=project, kind="manual", commit="abc1234", branch="main", score_total=71.5
        )
        broadcast.checkpoint_created(checkpoint)
        if roll_back:
            transaction.set_rollback(True)


@sync_to_async
def ingest(key: str, events: list) -> int:
    response = Client().post(
        "/api/v1/ingest/invocations",
        json.dumps({"events": events}),
        content_type="application/json",
        headers={"authorization": f"Bearer {key}"},
    )
    return response.status_code


async def test_it_pushes_checkpoint_created_to_the_projects_clients_only(
    live, project, other_project, read_key, outsider
):
    alpha_all = await subscribed(bearer(read_key))
    alpha_project = await subscribed(bearer(read_key))
    await alpha_project.send_json_to({"type": "subscribe", "project": "alpha"})
    await alpha_project.receive_json_from()
    beta = await subscribed(await sync_to_async(session_headers)(outsider))
    quiet = await subscribed(bearer(read_key))
    await quiet.send_json_to({"type": "unsubscribe"})
    await quiet.receive_json_from()

    await create_checkpoint(project, roll_back=True)
    assert await alpha_all.receive_nothing(timeout=0.2)
    await create_checkpoint(project)
    for communicator in (alpha_all, alpha_project):
        frame = await communicator.receive_json_from()
        assert frame["type"] == "checkpoint_created"
        checkpoint = frame["checkpoint"]
        assert (checkpoint["project"], checkpoint["kind"], checkpoint["commit"]) == (
            "alpha",
            "manual",
            "abc1234",
        )
        assert checkpoint["score_total"] == 71.5 and checkpoint["stars"] is None
        assert checkpoint["session"] is None and checkpoint["gate_verdict"] is None
    assert await beta.receive_nothing(timeout=0.2)
    assert await quiet.receive_nothing(timeout=0.05)
    for communicator in (alpha_all, alpha_project, beta, quiet):
        await communicator.disconnect()


async def test_it_pushes_session_updated_when_an_ingest_starts_a_session(
    live, project, write_key, read_key
):
    communicator = await subscribed(bearer(read_key))
    event = {"session": "s-9", "skill": "pytest", "invoked_at": "2026-11-25T10:00:00Z"}
    assert await ingest(write_key, [{**event, "id": "a"}, {**event, "id": "b"}]) == 200
    frame = await communicator.receive_json_from()
    assert frame["type"] == "session_updated"
    session = frame["session"]
    assert (session["project"], session["external_id"], session["status"]) == (
        "alpha",
        "s-9",
        "active",
    )
    assert session["started_at"] == "2026-11-25T10:00:00.000000Z"
    assert session["cost_usd"] is None
    assert session["total_tokens"] is None  # no model usage recorded: not measured, not 0
    # The session exists now: a second batch for it announces nothing.
    assert await ingest(write_key, [{**event, "id": "c"}]) == 200
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()
