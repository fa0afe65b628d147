"""The ticker: every tick, build each active view's snapshot once and send it to its group.

One ticker serves every process: with Redis it is `manage.py live_broadcast`; with the
in-memory layer it is a task inside the ASGI process (`ensure_in_process`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from datetime import datetime

from channels.db import database_sync_to_async
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from analytics.frames import encode, server_time
from analytics.layer import UNAVAILABLE, channel_layer
from analytics.registry import registry
from analytics.snapshot import build_payloads
from tracking import instruments

log = logging.getLogger(__name__)


class Ticker:
    def __init__(self, interval: float | None = None) -> None:
        self.interval = interval or settings.LIVE_TICK_SECONDS
        if not self.interval > 0:
            raise ImproperlyConfigured(f"LIVE_TICK_SECONDS must be > 0, got {self.interval}")
        self.seq = 0
        self.last_build_s = 0.0
        self.last_send_s = 0.0
        self.unavailable = False

    async def tick(self, now: datetime | None = None) -> int:
        """One tick: build, encode once per view, send to each view's group. Frames sent."""
        views = await registry.active_views()
        self.seq += 1
        if not views:
            return 0
        started = time.perf_counter()
        payloads = await database_sync_to_async(build_payloads)(views, now)
        built = time.perf_counter()
        stamp = server_time()
        layer = channel_layer()
        for group, payload in payloads.items():
            # type, seq and server_time first: a lean client finds them without parsing.
            text = encode(
                {"type": "metrics_update", "seq": self.seq, "server_time": stamp, **payload}
            )
            await layer.group_send(group, {"type": "live.frame", "group": group, "text": text})
        self.last_build_s = built - started
        instruments.live_snapshot_build_seconds.observe(self.last_build_s)
        self.last_send_s = time.perf_counter() - built
        return len(payloads)

    async def run(self, ticks: int = 0, stop: asyncio.Event | None = None) -> None:
        """Tick on a drift-free schedule (t0 + k·interval) until `ticks` or `stop`."""
        stop = stop or asyncio.Event()
        t0 = time.monotonic()
        k = 0
        while not stop.is_set() and (ticks == 0 or k < ticks):
            try:
                await self.tick()
            except UNAVAILABLE as error:
                # Redis is down: once in the log, not a traceback every tick until it is back.
                if not self.unavailable:
                    log.warning("live ticks paused: channel layer unavailable (%r)", error)
                self.unavailable = True
            except Exception:
                log.exception("live tick %s failed", self.seq)
            else:
                if self.unavailable:
                    log.warning("live ticks resumed")
                self.unavailable = False
            # A late tick is skipped rather than sent in a burst.
            k = max(k + 1, math.floor((time.monotonic() - t0) / self.interval) + 1)
            delay = t0 + k * self.interval - time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, delay))


_in_process: asyncio.Task | None = None


def ensure_in_process() -> None:
    """Start the ticker in this process's event loop unless it already runs there."""
    global _in_process
    loop = asyncio.get_running_loop()
    if _in_process is None or _in_process.done() or _in_process.get_loop() is not loop:
        _in_process = loop.create_task(Ticker().run())
        log.info("live ticker started in process (%.3g s)", settings.LIVE_TICK_SECONDS)
