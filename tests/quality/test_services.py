"""Health endpoints probed for real: a local HTTP server, a bare TCP listener, a closed port."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from quality.collectors import services


class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/health" else 503)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_it_probes_http_and_tcp_endpoints(http_server):
    port = http_server.rsplit(":", 1)[1]
    readings = services.collect(
        {
            "api": f"{http_server}/health",
            "broken": f"{http_server}/other",
            "tcp": f"tcp://127.0.0.1:{port}",
            "gone": f"tcp://127.0.0.1:{closed_port()}",
        },
        timeout=2,
    )
    got = {r.key: r.value for r in readings}
    assert got["services.up"] == 2
    assert got["services.down"] == 2
    checks = readings[0].detail["checks"]
    assert checks["api"]["status"] == 200 and checks["api"]["up"] is True
    assert checks["broken"]["status"] == 503 and checks["broken"]["up"] is False
    assert checks["gone"]["error"].startswith("ConnectionRefusedError")
    latency = got["services.latency_ms_max"]
    assert latency is not None and 0 < latency < 2000


def test_it_reads_the_configuration_from_pyproject(tmp_path, http_server):
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.cairn.services]\nweb = "{http_server}/health"\n'
    )
    assert services.configured(tmp_path) == {"web": f"{http_server}/health"}
    assert services.configured(tmp_path / "nowhere") == {}


def test_it_says_not_measured_without_endpoints():
    readings = services.collect({})
    assert all(r.value is None for r in readings)
    assert readings[0].reason.startswith("no health endpoints configured")
    odd = services.collect({"x": "ftp://example.org"})
    assert odd[0].value is None and odd[0].reason == "unsupported scheme 'ftp'"
