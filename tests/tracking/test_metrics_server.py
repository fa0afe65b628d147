"""`manage.py metrics_server` answers only /metrics, only with the token, and refuses to start
without a multiprocess folder (it would serve its own counts only)."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from http.server import ThreadingHTTPServer

import pytest
from django.core.management import CommandError, call_command

from tracking.management.commands.metrics_server import MetricsHandler

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(settings):
    settings.METRICS_TOKEN = "a-metrics-token-for-this-test"
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), MetricsHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def get(port: int, path: str, token: str | None = None) -> tuple[int, dict, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 - local
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def test_it_serves_the_metrics_with_the_token(server):
    status, headers, body = get(server, "/metrics", "a-metrics-token-for-this-test")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=")
    assert 'cairn_build_info{python="' in body
    assert "# TYPE cairn_ingest_events_total counter" in body


def test_it_refuses_a_missing_or_wrong_token(server):
    status, headers, body = get(server, "/metrics")
    assert (status, headers["WWW-Authenticate"]) == (401, 'Bearer realm="metrics"')
    assert "cairn_" not in body
    assert get(server, "/metrics", "another-token")[0] == 401


def test_it_answers_nothing_but_metrics(server):
    assert get(server, "/admin/", "a-metrics-token-for-this-test")[0] == 404


def test_it_refuses_to_start_without_a_multiprocess_folder():
    with pytest.raises(CommandError, match="PROMETHEUS_MULTIPROC_DIR is not set"):
        call_command("metrics_server", "--port", "0")
