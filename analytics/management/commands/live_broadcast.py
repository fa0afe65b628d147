"""`manage.py live_broadcast`: the live ticker as its own process (production, with Redis)."""

from __future__ import annotations

import asyncio
import signal

from django.conf import settings
from django.core.management.base import BaseCommand
from prometheus_client import start_http_server

from analytics.ticker import Ticker
from lib.leader import lead, stop_on_signals


class Command(BaseCommand):
    help = "Build the live snapshot every tick and send it to the WebSocket clients' groups."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, help="seconds (LIVE_TICK_SECONDS)")
        parser.add_argument("--ticks", type=int, default=0, help="stop after N ticks (0 = run)")
        parser.add_argument(
            "--metrics-port", type=int, help="serve this process's /metrics on 127.0.0.1:PORT"
        )

    def handle(self, *args, **opts):
        interval = opts["interval"] or settings.LIVE_TICK_SECONDS
        if not settings.REDIS_URL:
            self.stderr.write(
                "REDIS_URL is not set: without Redis this process cannot reach the clients "
                "(the in-memory layer is per process); the ASGI process ticks by itself."
            )
        if opts["metrics_port"]:
            # The ticker has no HTTP server of its own; its build times are scraped here.
            start_http_server(opts["metrics_port"], addr="127.0.0.1")
        self.stdout.write(f"live_broadcast: a tick every {interval} s")
        # Every copy may run (one per machine): only the leader ticks (lib/leader.py).
        with lead("live_broadcast", stop=stop_on_signals()) as leading:
            if leading:
                asyncio.run(self.run(Ticker(interval), opts["ticks"]))
        self.stdout.write("live_broadcast: stopped")

    async def run(self, ticker: Ticker, ticks: int) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await ticker.run(ticks=ticks, stop=stop)
