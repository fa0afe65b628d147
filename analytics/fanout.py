"""Process-local fan-out: one channel-layer channel per process, joined to every live group
that has a client in this process; each frame is then handed to the local clients in a loop.

The stock path gives every consumer its own channel: a frame becomes one queue put, one task
wake-up and one dispatch per client (and, on Redis pub/sub, one subscription per client). Here
a frame costs one receive per process and, per client, only the send itself — the shape of
`websockets.broadcast()`, the fastest fan-out measured on this machine
(Cairn's own fan-out figures: docs/benchmarks.md and docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict

from autobahn.websocket.protocol import PreparedMessage

from analytics import live_metrics, wire
from analytics.layer import channel_layer

log = logging.getLogger(__name__)
# Let the event loop run other work (handshakes, client messages, Twisted's buffered writes
# for the connections that took the slow path) every so many sends.
YIELD_EVERY = 250


class Frame:
    """One encoded frame for many clients; the wire form is built once, on first use."""

    __slots__ = ("text", "_prepared")

    def __init__(self, text: str) -> None:
        self.text = text
        self._prepared: PreparedMessage | None = None

    @property
    def prepared(self) -> PreparedMessage:
        if self._prepared is None:
            self._prepared = wire.prepare(self.text)
        return self._prepared


class LocalFanout:
    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.layer = channel_layer()
        self.members: dict[str, set] = defaultdict(set)
        self.channel: str | None = None
        self.listener: asyncio.Task | None = None
        self.lock = asyncio.Lock()

    async def join(self, group: str, member) -> None:
        # The lock keeps concurrent handshakes from creating several channels, and a
        # subscription from racing its own removal.
        async with self.lock:
            if self.channel is None:
                self.channel = await self.layer.new_channel()
                self.listener = self.loop.create_task(self.listen(self.channel))
            if not self.members[group]:
                await self.layer.group_add(group, self.channel)
            self.members[group].add(member)

    async def leave(self, group: str, member) -> None:
        async with self.lock:
            members = self.members.get(group)
            if members is None:
                return
            members.discard(member)
            if not members:
                del self.members[group]
                if self.channel is not None:  # None: no member ever joined in this process
                    await self.layer.group_discard(group, self.channel)

    async def listen(self, channel: str) -> None:
        while True:
            try:
                message = await self.layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("live fan-out: receive failed; retrying")
                await asyncio.sleep(1)
                continue
            await self.deliver(message.get("group", ""), message["text"])

    async def deliver(self, group: str, text: str) -> int:
        """Hand one encoded frame to every local member of the group; returns how many."""
        members = list(self.members.get(group, ()))
        frame = Frame(text)
        started = time.perf_counter()
        for index, member in enumerate(members, 1):
            try:
                await member.push(frame)
            except Exception:
                log.exception("live fan-out: push to a client failed")
            if index % YIELD_EVERY == 0:
                await asyncio.sleep(0)
        live_metrics.fanout_seconds.observe(time.perf_counter() - started)
        live_metrics.frames_sent.inc(len(members))
        return len(members)


_current: LocalFanout | None = None


def local_fanout() -> LocalFanout:
    """This process's fan-out for the running event loop (tests run one loop per test)."""
    global _current
    if _current is None or _current.loop is not asyncio.get_running_loop():
        _current = LocalFanout()
    return _current
