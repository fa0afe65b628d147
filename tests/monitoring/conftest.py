"""One running machine for the tests that hold the documents to a real scrape."""

from __future__ import annotations

import time

import pytest

from tests.analytics import servers
from tests.monitoring.machine import Machine, events, post


@pytest.fixture(scope="package")
def scrape_after_traffic(tmp_path_factory) -> str:
    """A scrape of an embedded-mode machine (a Daphne, the worker, the metrics server) after
    ingest of skill and tool events (a duplicate, an invalid event and a malformed body among
    them), a checkpoint, and a worker run."""
    var = tmp_path_factory.mktemp("machine")
    env, key = servers.embedded(var)
    machine = Machine(env, var, daphnes=1).start()
    try:
        port = machine.ports[0]
        batch = events("doc", 6) + events("tool", 3, skill="Bash")
        machine.ingest(port, key, batch)
        machine.ingest(port, key, [*batch[:2], {"id": "bad"}])
        assert post(port, "/api/v1/ingest/invocations", key, "{not json")["status"] == 400
        machine.checkpoint(coverage=80.0)
        deadline = time.monotonic() + 60
        text = machine.scrape()
        while "cairn_worker_last_success_timestamp_seconds{" not in text:
            assert time.monotonic() < deadline, "the worker never reported a success"
            time.sleep(0.5)
            text = machine.scrape()
        return text
    finally:
        machine.stop()
