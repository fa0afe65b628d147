"""A Cairn machine as docs/metrics.md describes it, for the monitoring tests: Daphne processes,
the analytics worker and `manage.py metrics_server` sharing one PROMETHEUS_MULTIPROC_DIR
(emptied before they start), with traffic sent to them over HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.analytics import servers

# Run in the machine's database (`manage.py shell`): a checkpoint of project alpha measuring
# line coverage and two failed tests (the default gate fails on them); prints its score.
CHECKPOINT = """
from quality.collectors.base import Source, measured
from tracking.checkpoints import checkpoint_record
from tracking.models import Project
source = Source("coverage.py", "7.6")
readings = [
    measured("coverage.line_percent", {coverage}, source),
    measured("tests.failed", 2, Source("pytest", "8.3")),
]
checkpoint = checkpoint_record(project=Project.objects.get(slug="alpha"), readings=readings)
print(checkpoint.score_total)
"""


class Machine:
    """Processes of one machine; `env` is a server environment (servers.server_env)."""

    def __init__(self, env: dict[str, str], var: Path, *, daphnes: int = 2) -> None:
        self.var = var
        self.multiproc = var / "prometheus"
        self.multiproc.mkdir(parents=True, exist_ok=True)
        for stale in self.multiproc.glob("*.db"):
            stale.unlink()
        self.env = dict(
            env,
            PROMETHEUS_MULTIPROC_DIR=str(self.multiproc),
            PROMETHEUS_DISABLE_CREATED_SERIES="True",
        )
        self.ports = [servers.free_port() for _ in range(daphnes)]
        self.metrics_port = servers.free_port()
        self.processes: list[servers.Process] = []
        self.daphnes = daphnes

    def start(self) -> Machine:
        for index, port in enumerate(self.ports):
            log = self.var / f"daphne-{index}.log"
            self.processes.append(servers.daphne(port, self.env, log))
        manage = [sys.executable, "manage.py"]
        worker = [*manage, "analytics_worker", "--interval-minutes", "1"]
        self.processes.append(servers.Process(worker, self.env, self.var / "worker.log"))
        exporter = [*manage, "metrics_server", "--port", str(self.metrics_port)]
        self.processes.append(servers.Process(exporter, self.env, self.var / "metrics.log"))
        for port, process in zip(self.ports, self.processes, strict=False):
            servers.wait_until_serving(port, process, timeout=120)
        self._wait_for_exporter()
        return self

    def stop(self) -> None:
        for process in self.processes:
            process.stop()

    def _wait_for_exporter(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.scrape()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def scrape(self, port: int | None = None) -> str:
        """The text of one scrape of the machine's target (or of a Daphne's /metrics)."""
        port = port or self.metrics_port
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/metrics",
            headers={"Authorization": f"Bearer {servers.METRICS_TOKEN}"},
        )
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 - local
            return response.read().decode()

    def ingest(self, port: int, key: str, events: list[dict]) -> dict:
        """POST a batch to one Daphne's ingest endpoint; its JSON answer."""
        return post(port, "/api/v1/ingest/invocations", key, json.dumps({"events": events}))

    def checkpoint(self, coverage: float) -> float:
        """Record a checkpoint in a process of its own; its score total."""
        shell = subprocess.run(  # noqa: S603 - fixed argument list
            [sys.executable, "manage.py", "shell", "-c", CHECKPOINT.format(coverage=coverage)],
            cwd=servers.ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return float(shell.stdout.strip().splitlines()[-1])


def post(port: int, path: str, key: str, body: str) -> dict:
    """POST JSON with a bearer key; the JSON answer, or {"status": code} for an error."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=body.encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - local
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return {"status": error.code}


def events(prefix: str, count: int, *, skill: str = "pytest") -> list[dict]:
    """`count` distinct events (ids `prefix-0`…), alternately completed and failed, an hour
    ago: skill labels are the top skills of the last week (`instruments.TopSkills`), so a
    fixed date would turn "pytest" into "other" a week after it."""
    at = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    return [
        {
            "id": f"{prefix}-{index}",
            "session": f"{prefix}-session",
            "skill": skill,
            "invoked_at": at,
            "completed": index % 2 == 0,
            "duration_s": 0.5 + index % 7,
        }
        for index in range(count)
    ]
