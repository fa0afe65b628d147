"""A real Prometheus (the Debian binary, on its own port) scrapes a machine of two Daphne
processes and the analytics worker the way docs/metrics.md says: one target, the machine's
`manage.py metrics_server`. Events spread over both processes add up exactly, the quality
score is the checkpoint's, an alert rule of rules.yml fires once its condition holds, and a
killed process's live connections leave the sum."""

from __future__ import annotations

import contextlib
import json
import shutil
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from tests.analytics import servers
from tests.monitoring.machine import Machine, events
from tracking.models import Project

PROMETHEUS = shutil.which("prometheus")
RULES = servers.ROOT / "monitoring" / "prometheus" / "rules.yml"

pytestmark = [
    pytest.mark.skipif(PROMETHEUS is None, reason="the prometheus binary is missing"),
    pytest.mark.django_db(transaction=True),
]

CONFIG = """
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [rules.yml]
scrape_configs:
  - job_name: cairn
    authorization:
      type: Bearer
      credentials_file: {token}
    static_configs:
      - targets: ["127.0.0.1:{port}"]
"""


class Prometheus:
    def __init__(self, var: Path, target_port: int) -> None:
        (var / "token").write_text(servers.METRICS_TOKEN)
        shutil.copy(RULES, var / "rules.yml")
        config = CONFIG.format(token=var / "token", port=target_port)
        (var / "prometheus.yml").write_text(config)
        self.port = servers.free_port()
        args = [
            str(PROMETHEUS),
            f"--config.file={var / 'prometheus.yml'}",
            f"--storage.tsdb.path={var / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
        ]
        self.process = servers.Process(args, {}, var / "prometheus.log")

    def get(self, path: str, **params: str) -> dict:
        query = urllib.parse.urlencode(params)
        url = f"http://127.0.0.1:{self.port}{path}?{query}"
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - local
            return json.loads(response.read())

    def query(self, expr: str) -> list[dict]:
        return self.get("/api/v1/query", query=expr)["data"]["result"]

    def firing(self) -> set[str]:
        found = self.get("/api/v1/alerts")["data"]["alerts"]
        return {a["labels"]["alertname"] for a in found if a["state"] == "firing"}

    def until(self, what, timeout: float = 30.0):
        """Poll `what()` until it returns something true; that value."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if found := what():
                    return found
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out: {self.process.log.read_text()[-1500:]}")
            time.sleep(0.25)


def value(result: list[dict]) -> float | None:
    return float(result[0]["value"][1]) if len(result) == 1 else None


def test_a_real_prometheus_sees_the_sum_the_score_and_an_alert(tmp_path):
    database = servers.database_url()
    if database is None:
        pytest.skip("needs Postgres (DATABASE_URL) shared by the two Daphne processes")
    project = Project.objects.create(name="Alpha", slug="alpha")
    key = project.create_api_key(scope="write")[1]
    env = servers.server_env(DATABASE_URL=database, REDIS_URL="", LIVE_TICK_SECONDS="1")
    machine = Machine(env, tmp_path / "machine", daphnes=2).start()
    prometheus = Prometheus(tmp_path, machine.metrics_port)
    try:
        for index in range(10):  # 1,000 events, batches alternating between the processes
            port = machine.ports[index % 2]
            answer = machine.ingest(port, key, events(f"e2e-{index}", 100))
            assert answer["accepted"] == 100, answer
        accepted = 'sum(cairn_ingest_events_total{outcome="accepted"})'
        assert prometheus.until(lambda: value(prometheus.query(accepted)) == 1000)
        # The sum is over processes: each Daphne wrote its own counter file.
        writers = {int(f.stem.split("_")[1]) for f in machine.multiproc.glob("counter_*.db")}
        assert {process.pid for process in machine.processes[:2]} <= writers
        assert "CairnQualityGateFailed" not in prometheus.firing()

        score = machine.checkpoint(coverage=80.0)  # two failed tests: the gate fails
        ratio = 'cairn_quality_score_ratio{project="alpha"}'
        assert prometheus.until(lambda: value(prometheus.query(ratio)) == score / 100)
        assert 0 < score < 100
        assert prometheus.until(lambda: "CairnQualityGateFailed" in prometheus.firing())

        # A live client on the second process counts; killed, the process counts no more.
        connections = "sum(cairn_live_connections)"
        # Closing the client after its server died may fail: only the assertions matter.
        with contextlib.suppress(OSError, ConnectionClosed), servers.live(machine.ports[1], key):
            assert prometheus.until(lambda: value(prometheus.query(connections)) == 1)
            machine.processes[1].kill()
            assert prometheus.until(lambda: value(prometheus.query(connections)) == 0)
    finally:
        prometheus.process.stop()
        machine.stop()
