"""docs/websocket-api.md against the code: the documented error and close codes and message
types are exactly those the consumer has."""

from __future__ import annotations

import re
from pathlib import Path

from analytics import consumers

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "websocket-api.md").read_text()
CODE = (ROOT / "analytics" / "consumers.py").read_text()


def section(title: str) -> str:
    return DOC.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_it_documents_exactly_the_error_codes_the_consumer_sends():
    documented = set(re.findall(r"^\| `(\w+)` \|", section("Errors"), re.M))
    raised = set(re.findall(r'(?:ClientError|refuse|fail|error_frame)\(\s*"(\w+)"', CODE))
    assert documented == raised
    assert len(raised) == 11


def test_it_documents_exactly_the_close_codes_the_consumer_uses():
    documented = {int(c) for c in re.findall(r"^\| (4\d{3}) \|", section("Close codes"), re.M)}
    used = {value for name, value in vars(consumers).items() if name.startswith("CLOSE_")}
    assert documented == used == {4001, 4003, 4008, 4013, 4029}


def test_it_documents_exactly_the_client_message_types():
    table = section("Messages: client → server")
    documented = set(re.findall(r"^\| `(\w+)` \|", table, re.M))
    assert documented == set(consumers.LiveConsumer.MESSAGES) == set(consumers.FIELDS)
