"""Fixtures for the Claude Code integration: the shared real transcripts and their figures."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from analytics.layer import channel_layer
from analytics.liveview import events_group
from tests.fixtures import DATA

TRANSCRIPTS = DATA / "transcripts"
EXPECTED = json.loads((DATA / "expected.json").read_text())["transcripts"]
MAIN = "transcripts/spotter/4d5611e5-241a-462a-8d15-5122611a9569.jsonl"


def data_path(relative: str) -> Path:
    return DATA / relative


@pytest.fixture
def transcripts_copy(tmp_path) -> Path:
    """The data set's transcripts in a temporary folder, free to change."""
    target = tmp_path / "projects"
    shutil.copytree(TRANSCRIPTS, target, ignore=shutil.ignore_patterns("LICENSE*"))
    return target


def first_live_frame(project, callbacks: list[Callable]) -> dict:
    """Run the captured on-commit callbacks and return the first frame the project's live
    page group receives, decoded."""

    async def listen() -> dict:
        layer = channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(events_group(project.pk), channel)
        await sync_to_async(lambda: [callback() for callback in callbacks])()
        return await asyncio.wait_for(layer.receive(channel), timeout=5)

    return json.loads(async_to_sync(listen)()["text"])
