"""Which live views have subscribers, so the ticker builds frames for those and no others.

Each serving process counts its own subscribers per view. With Redis, it also registers its
views in a sorted set (score = expiry time) that the ticker process reads every tick; entries
are refreshed while subscribers remain and expire a minute after the last one leaves. Without
Redis the ticker runs in the same process and reads the local counts directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter

import redis.asyncio as aioredis
from django.conf import settings

from analytics.liveview import LiveView

KEY = "cairn:live:views"
TTL_SECONDS = 60
REFRESH_SECONDS = 20


class ViewRegistry:
    def __init__(self) -> None:
        self.local: Counter[str] = Counter()
        self._client: aioredis.Redis | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._refresher: asyncio.Task | None = None

    def _redis(self) -> aioredis.Redis | None:
        if not settings.REDIS_URL:
            return None
        loop = asyncio.get_running_loop()
        # A client belongs to one event loop (tests run one loop per test).
        if self._client is None or self._loop is not loop:
            self._client = aioredis.from_url(settings.REDIS_URL)
            self._loop = loop
            self._refresher = None
        if self._refresher is None or self._refresher.done():
            self._refresher = loop.create_task(self._refresh_forever())
        return self._client

    async def add(self, view: LiveView) -> None:
        self.local[view.key] += 1
        client = self._redis()
        if client is not None and self.local[view.key] == 1:
            await client.zadd(KEY, {view.key: time.time() + TTL_SECONDS})

    def remove(self, view: LiveView) -> None:
        self.local[view.key] -= 1
        if self.local[view.key] <= 0:
            # Left to expire in Redis: other processes may still serve this view.
            del self.local[view.key]

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            with contextlib.suppress(Exception):
                await self.refresh()

    async def refresh(self) -> None:
        client = self._redis()
        if client is not None and self.local:
            expiry = time.time() + TTL_SECONDS
            await client.zadd(KEY, dict.fromkeys(self.local, expiry))

    async def active_views(self) -> list[LiveView]:
        client = self._redis()
        if client is None:
            keys = list(self.local)
        else:
            now = time.time()
            await client.zremrangebyscore(KEY, "-inf", now)
            # Members come back as bytes: the client is made without decode_responses.
            members = await client.zrangebyscore(KEY, now, "+inf")
            keys = [k.decode() for k in members if isinstance(k, bytes)]
        return [LiveView.from_key(k) for k in sorted(keys)]


registry = ViewRegistry()
