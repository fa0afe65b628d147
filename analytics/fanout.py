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
from channels.layers import InMemoryChannelLayer

from analytics import wire
from analytics.frames import status_frame
from analytics.layer import UNAVAILABLE, channel_layer
from analytics.registry import registry
from tracking import instruments

log = logging.getLogger(__name__)
# Let the event loop run other work (handshakes, client messages, Twisted's buffered writes
# for the connections that took the slow path) every so many sends.
YIELD_EVERY = 250
# How often the layer is probed; an outage is reported within about twice this.
CHECK_SECONDS = 1.0
PROBE_GROUP = "live.probe"
UNAVAILABLE_REASON = "channel layer unavailable"


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
    """This process's members per group, its one channel-layer channel, and whether the layer
    can be reached (`live`); members are told through a `status` frame when that changes."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.layer = channel_layer()
        self.members: dict[str, set] = defaultdict(set)
        # Groups the channel is subscribed to in the layer; a group whose subscription failed
        # during an outage has members but is not here until the layer is back.
        self.attached: set[str] = set()
        self.channel: str | None = None
        self.listener: asyncio.Task | None = None
        self.watcher: asyncio.Task | None = None
        self.live = True
        self.lock = asyncio.Lock()

    async def join(self, group: str, member) -> None:
        # Local first: whatever happens to the layer, the member is released from what it holds.
        self.members[group].add(member)
        instruments.live_fanout_members.set(self.member_count())
        await self._attach(group)

    async def leave(self, group: str, member) -> None:
        members = self.members.get(group)
        if members is None:
            return
        members.discard(member)
        instruments.live_fanout_members.set(self.member_count())
        if not members:
            del self.members[group]
            await self._detach(group)

    async def drop(self, member) -> None:
        """Remove a member from every group (a consumer that ended, however it ended)."""
        emptied = []
        # No await before the member is gone everywhere: a cancelled consumer still leaves.
        for group, members in list(self.members.items()):
            members.discard(member)
            if not members:
                del self.members[group]
                emptied.append(group)
        instruments.live_fanout_members.set(self.member_count())
        for group in emptied:
            await self._detach(group)

    def member_count(self) -> int:
        """Distinct members in all groups (a client is in its view's group and its events')."""
        return len(set().union(*self.members.values())) if self.members else 0

    async def _attach(self, group: str) -> None:
        # The lock keeps concurrent handshakes from creating several channels, and a
        # subscription from racing its own removal.
        async with self.lock:
            try:
                await self._attach_locked(group)
            except UNAVAILABLE as error:
                await self.lost(error)
        self._watch()

    async def _attach_locked(self, group: str) -> None:
        if group in self.attached or not self.members.get(group):
            return
        if self.channel is None:
            self.channel = await self.layer.new_channel()
            self.listener = self.loop.create_task(self.listen(self.channel))
        await self.layer.group_add(group, self.channel)
        self.attached.add(group)

    async def _detach(self, group: str) -> None:
        async with self.lock:
            # Attached implies a channel: _attach_locked makes one first.
            if self.members.get(group) or group not in self.attached or self.channel is None:
                return
            self.attached.discard(group)
            try:
                await self.layer.group_discard(group, self.channel)
            except UNAVAILABLE as error:
                # Nothing to redo: the group has no member here, so its frames reach no one.
                log.warning("live fan-out: leaving %s failed (%r)", group, error)

    def _watch(self) -> None:
        # The in-memory layer lives in this process and cannot become unreachable.
        if self.watcher is None and not isinstance(self.layer, InMemoryChannelLayer):
            self.watcher = self.loop.create_task(self.watch())

    async def watch(self) -> None:
        """Probe the layer every CHECK_SECONDS: a pub/sub layer's receive never fails (it
        waits on a local queue), so an outage is otherwise silent."""
        while True:
            await asyncio.sleep(CHECK_SECONDS)
            try:
                probe = self.layer.group_send(PROBE_GROUP, {"type": "live.probe"})
                await asyncio.wait_for(probe, CHECK_SECONDS * 2)
            except UNAVAILABLE as error:
                await self.lost(error)
                continue
            except Exception:
                log.exception("live fan-out: probing the channel layer failed")
                continue
            if not self.live:
                await self.regained()

    async def lost(self, error: BaseException) -> None:
        """The layer failed: tell every member once, when the outage starts."""
        self._watch()
        if not self.live:
            return
        self.live = False
        log.warning("live fan-out: channel layer unavailable (%r)", error)
        await self.broadcast(status_frame(False, UNAVAILABLE_REASON))

    async def regained(self) -> None:
        """The layer answers again: subscribe what failed meanwhile, register the views again
        (a restarted Redis has lost them), then tell every member."""
        try:
            async with self.lock:
                for group in list(self.members):
                    await self._attach_locked(group)
            await registry.refresh()
        except UNAVAILABLE as error:
            log.warning("live fan-out: channel layer still unavailable (%r)", error)
            return
        self.live = True
        log.warning("live fan-out: channel layer available again")
        await self.broadcast(status_frame(True))

    async def broadcast(self, text: str) -> int:
        """Hand one frame to every member of any group, once each."""
        members = set().union(*self.members.values()) if self.members else set()
        return await self._push_all(list(members), Frame(text))

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
        started = time.perf_counter()
        sent = await self._push_all(members, Frame(text))
        instruments.live_fanout_seconds.observe(time.perf_counter() - started)
        instruments.live_frames_sent.inc(sent)
        wire.flush_frames_written()
        return sent

    async def _push_all(self, members: list, frame: Frame) -> int:
        for index, member in enumerate(members, 1):
            try:
                await member.push(frame)
            except Exception:
                log.exception("live fan-out: push to a client failed")
            if index % YIELD_EVERY == 0:
                await asyncio.sleep(0)
        return len(members)


_current: LocalFanout | None = None


def local_fanout() -> LocalFanout:
    """This process's fan-out for the running event loop (tests run one loop per test)."""
    global _current
    if _current is None or _current.loop is not asyncio.get_running_loop():
        _current = LocalFanout()
    return _current
