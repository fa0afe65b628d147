"""`manage.py metrics_server`: the machine's /metrics on a port of its own, for Prometheus.

All processes of a machine share one `PROMETHEUS_MULTIPROC_DIR`, so any of them serves the
same sum; scraping each Daphne would count every event once per process. This small server
is the one target per machine (docs/metrics.md, "Scraping"): it answers `GET /metrics` with
the same token and address checks as the Django view, and nothing else.
"""

from __future__ import annotations

import signal
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from tracking import instruments
from tracking.metrics import address_allowed, parse_networks, scrape_registry, token_matches


class MetricsHandler(BaseHTTPRequestHandler):
    server_version = "cairn-metrics"

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path.split("?", 1)[0] != "/metrics":
            return self._answer(HTTPStatus.NOT_FOUND, b"Only /metrics is served here.\n")
        networks = parse_networks(settings.METRICS_ALLOWED_ADDRESSES)
        if not address_allowed(self.client_address[0], networks):
            return self._answer(HTTPStatus.FORBIDDEN, b"Forbidden.\n")
        header = self.headers.get("Authorization", "")
        if not token_matches(header, settings.METRICS_TOKEN):
            message = b"Authorization: Bearer <METRICS_TOKEN> required.\n"
            return self._answer(HTTPStatus.UNAUTHORIZED, message, bearer=True)
        try:
            body = generate_latest(scrape_registry())
        finally:
            # One thread per request: its database connection ends with it.
            connections.close_all()
        self._answer(HTTPStatus.OK, body, content_type=CONTENT_TYPE_LATEST)

    def _answer(
        self,
        status: HTTPStatus,
        body: bytes,
        *,
        content_type: str = "text/plain; charset=utf-8",
        bearer: bool = False,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        if bearer:
            self.send_header("WWW-Authenticate", 'Bearer realm="metrics"')
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Quiet: Prometheus asks every few seconds."""


class Command(BaseCommand):
    help = "Serve this machine's /metrics (every process's counts, summed) on its own port."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=9464, help="port (default 9464)")

    def handle(self, *args, **opts) -> None:
        if not instruments.MULTIPROCESS:
            raise CommandError(
                "PROMETHEUS_MULTIPROC_DIR is not set: this process would serve only its own "
                "counts. Set it to the folder the server processes share (scripts/run does)."
            )
        server = ThreadingHTTPServer((opts["host"], opts["port"]), MetricsHandler)
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        port = server.server_address[1]
        self.stdout.write(f"metrics_server: http://{opts['host']}:{port}/metrics")
        self.stdout.flush()
        stop.wait()
        server.shutdown()
        self.stdout.write("metrics_server: stopped")
