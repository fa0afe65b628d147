"""`/ws/live/`: the live analytics consumer (protocol in docs/websocket-api.md).

The consumer parses client messages, checks limits and forwards frames the ticker and the
broadcast module encoded; the figures come from `analytics.snapshot`. Frames reach it through
the process-local fan-out (`analytics.fanout`), not a channel of its own. Client messages skip
Channels' per-message `aclose_old_connections()` thread hop: the handlers that touch the ORM go
through `database_sync_to_async`, which cleans connections itself.
"""

from __future__ import annotations

import logging
import time
from collections import deque

from autobahn.websocket.protocol import WebSocketProtocol
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from analytics import ticker, wire
from analytics.fanout import UNAVAILABLE_REASON, Frame, LocalFanout, local_fanout
from analytics.frames import encode, error_frame, server_time, status_frame
from analytics.layer import UNAVAILABLE
from analytics.liveview import ALL, PROJECT, SKILL, LiveView, events_group
from analytics.registry import registry
from analytics.snapshot import skill_known, skill_metrics
from lib import gctune
from lib.text import JSONDepthError, NonFiniteNumber, check_text, loads_bounded
from tracking import instruments
from tracking.auth import ApiKeyUser, visible_projects

log = logging.getLogger(__name__)

MAX_FRAME_BYTES = 4096
MAX_MESSAGES_PER_SECOND = 20
# No message needs more than two levels; the bound keeps json.loads far from the recursion limit.
CLOSE_UNAUTHENTICATED = 4001
CLOSE_FORBIDDEN = 4003
CLOSE_SLOW_READER = 4008
CLOSE_TOO_LARGE = 4013
CLOSE_RATE_LIMITED = 4029


FIELDS = {
    "ping": {"type", "id"},
    "subscribe": {"type", "skill", "project"},
    "unsubscribe": {"type"},
    "get_metrics": {"type", "skill"},
}


class ClientError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _shown(name: str) -> str:
    """A client-chosen name, quoted and cut short for an error message."""
    return repr(name if len(name) <= 40 else name[:40] + "…")


def parse_message(text: str) -> tuple[str, dict]:
    """The type and fields of one client text message, or a ClientError naming what is wrong.

    Total over any text: every JSON value, and every type of every field, ends here in a
    result or a ClientError (the property test in tests/analytics/test_live_faults.py)."""
    try:
        data = loads_bounded(text, name="message", refuse_overflow=True)
    except JSONDepthError as exc:
        raise ClientError("bad_json", f"{exc}.") from None
    except NonFiniteNumber:
        raise ClientError("bad_json", "NaN and Infinity are not JSON numbers.") from None
    except ValueError:
        raise ClientError("bad_json", "The message is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ClientError("bad_json", "The message must be a JSON object.")
    kind = data.get("type")
    known = ", ".join(sorted(FIELDS))
    if not isinstance(kind, str):
        raise ClientError("unknown_type", f"'type' must be a string, one of: {known}.")
    if kind not in FIELDS:
        raise ClientError("unknown_type", f"Unknown message type; use one of: {known}.")
    # A misspelt field (`skill_name`) must not silently mean "all skills".
    unknown = sorted(set(data) - FIELDS[kind])
    if unknown:
        raise ClientError("bad_request", f"Unknown field {_shown(unknown[0])} in {kind}.")
    return kind, data


def ping_id(data: dict) -> str | int | float | None:
    """The `id` a pong echoes: a string or a number, or None when the ping had none."""
    value = data.get("id")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ClientError("bad_request", "'id' must be a string or a number.")
    return value


def visible(user) -> dict[int, str]:
    """The projects a user may see, by id. A key's own project needs no query: at a connect
    storm every handshake's query waits its turn in the one database thread."""
    if isinstance(user, ApiKeyUser):
        return {user.project.pk: user.project.slug}
    return dict(visible_projects(user).values_list("pk", "slug"))


class LiveConsumer(AsyncWebsocketConsumer):
    # No channel per consumer: frames come through the process's fan-out (analytics.fanout).
    # Channels treats an alias with no layer as "none"; the stubs allow only a str.
    channel_layer_alias = None  # type: ignore[assignment]
    view: LiveView | None = None
    # The fan-out groups held: the view's and the events' of its projects.
    joined: frozenset[str] = frozenset()
    fanout: LocalFanout | None = None
    closing = False
    counted = False
    released = False
    protocol: WebSocketProtocol | None = None
    projects: dict[int, str]

    async def __call__(self, scope, receive, send):
        # Whatever ends the consumer (a disconnect, an exception, a cancellation by the
        # server), it leaves the fan-out: Daphne sends no disconnect to an application that
        # raised, and the fan-out would keep pushing to it.
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.release()

    async def dispatch(self, message):
        fast = self.FAST.get(message["type"])
        if fast is not None:
            await fast(self, message)
        else:
            await super().dispatch(message)

    async def connect(self):
        user = self.scope.get("user")
        self.recent: deque[float] = deque(maxlen=MAX_MESSAGES_PER_SECOND + 1)
        self.over_since: float | None = None
        self.buffer_limit = settings.LIVE_CLIENT_BUFFER_BYTES
        self.slow_grace = settings.LIVE_SLOW_CLIENT_SECONDS
        if self.scope.get("api_key_rejected") or user is None or not user.is_authenticated:
            message = "Log in or give a valid API key."
            await self.refuse("unauthenticated", message, CLOSE_UNAUTHENTICATED)
            return
        if isinstance(user, ApiKeyUser):
            self.projects = visible(user)
        else:
            self.projects = await database_sync_to_async(visible)(user)
        if not self.projects:
            await self.refuse("forbidden", "This identity may see no project.", CLOSE_FORBIDDEN)
            return
        await self.accept()
        self.fanout = local_fanout()
        self.counted = True
        instruments.live_connections.inc()
        self.raw_send = wire.unwrap(self.base_send)
        self.protocol = wire.protocol_of(self.base_send)
        gctune.freeze_soon()
        if settings.LIVE_TICKER_IN_PROCESS:
            ticker.ensure_in_process()
        await self.send_text(
            encode(
                {
                    "type": "connected",
                    "authenticated": True,
                    "user": str(user),
                    "via": "api_key" if isinstance(user, ApiKeyUser) else "session",
                    "projects": sorted(self.projects.values()),
                    "server_time": server_time(),
                    "tick_seconds": settings.LIVE_TICK_SECONDS,
                }
            )
        )
        if not self.fanout.live:
            await self.send_text(status_frame(False, UNAVAILABLE_REASON))
        await self.follow(LiveView.make(ALL, self.projects), {"kind": ALL})

    async def refuse(self, code: str, message: str, close_code: int) -> None:
        # Accept first: a close before accepting is an HTTP 403 and the client sees no code.
        self.closing = True
        await self.accept()
        await self.send_text(error_frame(code, message))
        await self.close(code=close_code)

    async def disconnect(self, code):
        await self.release()

    async def release(self) -> None:
        """Leave the registry and the fan-out and uncount the connection, once."""
        if self.released:
            return
        # All bookkeeping before the first await: a cancelled consumer is released too.
        self.released = self.closing = True
        if self.view is not None:
            registry.remove(self.view)
            self.view = None
        self.joined = frozenset()
        if self.counted:
            self.counted = False
            instruments.live_connections.dec()
        if self.fanout is not None:
            await self.fanout.drop(self)

    async def send_text(self, text: str) -> None:
        await self.send(text_data=text)

    async def follow(self, view: LiveView | None, scope: dict | None, confirm=True) -> None:
        """Replace the subscription: leave the old groups, join the new ones."""
        fanout = self.fanout
        assert fanout is not None  # set before the first subscription
        groups = frozenset(
            [view.group, *(events_group(pk) for pk in view.project_ids)] if view else ()
        )
        if self.view != view:
            # The registry count changes with self.view, before any await (see release).
            if self.view is not None:
                registry.remove(self.view)
            self.view = view
            if view is not None:
                try:
                    await registry.add(view)
                except UNAVAILABLE as error:
                    # Registered again with the others when the fan-out sees the layer back.
                    await fanout.lost(error)
        held, self.joined = self.joined, groups
        for group in held - groups:
            await fanout.leave(group, self)
        for group in groups - held:
            await fanout.join(group, self)
        if confirm:
            await self.send_text(encode({"type": "subscription_confirmed", "scope": scope}))

    async def push(self, frame: Frame) -> None:
        """Send a frame encoded once for many clients, unless this client stopped reading."""
        if self.closing:
            return
        protocol = self.protocol
        if protocol is None:
            wire.frames_written["asgi"] += 1
            await self.raw_send({"type": "websocket.send", "text": frame.text})
            return
        if wire.buffered_bytes(protocol) > self.buffer_limit:
            # Over the limit: drop this frame. A reader that drains is back under within
            # milliseconds (a burst can overshoot within one loop turn); one that stays over
            # for the grace period has stopped reading.
            instruments.live_frames_dropped.inc()
            now = time.monotonic()
            if self.over_since is None:
                self.over_since = now
            elif now - self.over_since >= self.slow_grace:
                self.closing = True
                instruments.live_slow_readers_closed.inc()
                await self.close(code=CLOSE_SLOW_READER)
                wire.abort(protocol)  # the close frame would wait behind
            return
        self.over_since = None
        wire.send_prepared(protocol, frame.prepared)

    # Client messages.

    async def receive(self, text_data=None, bytes_data=None):
        if self.closing:
            return
        try:
            await self.handle(text_data, bytes_data)
        except ClientError as error:
            await self.send_text(error_frame(error.code, str(error)))
        except Exception:
            # A failure of ours, not a bad message: the client hears of it and stays connected.
            log.exception("live: a client message failed")
            message = "The server failed to handle this message; the failure is logged."
            await self.send_text(error_frame("server_error", message))

    async def handle(self, text_data, bytes_data) -> None:
        now = time.monotonic()
        self.recent.append(now)
        if len(self.recent) > MAX_MESSAGES_PER_SECOND and now - self.recent[0] < 1.0:
            message = f"More than {MAX_MESSAGES_PER_SECOND} messages within 1 s."
            return await self.fail("rate_limited", message, CLOSE_RATE_LIMITED)
        size = len(bytes_data) if bytes_data is not None else len(text_data.encode())
        if size > MAX_FRAME_BYTES:
            message = f"A message may have at most {MAX_FRAME_BYTES} bytes; this had {size}."
            return await self.fail("message_too_large", message, CLOSE_TOO_LARGE)
        if bytes_data is not None:
            raise ClientError("binary_not_supported", "Send JSON as text frames.")
        kind, data = parse_message(text_data)
        await self.MESSAGES[kind](self, data)

    async def fail(self, code: str, message: str, close_code: int) -> None:
        self.closing = True
        await self.send_text(error_frame(code, message))
        await self.close(code=close_code)

    async def on_ping(self, data: dict) -> None:
        frame: dict[str, object] = {"type": "pong", "server_time": server_time()}
        ident = ping_id(data)
        if ident is not None:
            frame["id"] = ident
        await self.send_text(encode(frame))

    async def on_subscribe(self, data: dict) -> None:
        skill, slug = _text_field(data, "skill"), _text_field(data, "project")
        if skill and slug:
            raise ClientError("bad_request", "Subscribe to a skill or a project, not both.")
        self.projects = await database_sync_to_async(visible)(self.scope["user"])
        if skill:
            await self.check_skill(skill)
            view = LiveView.make(SKILL, self.projects, skill)
            return await self.follow(view, {"kind": SKILL, "skill": skill})
        if slug:
            ids = [pk for pk, s in self.projects.items() if s == slug]
            if not ids:
                raise ClientError("unknown_project", f"No project {slug!r} visible to you.")
            return await self.follow(
                LiveView.make(PROJECT, ids), {"kind": PROJECT, "project": slug}
            )
        await self.follow(LiveView.make(ALL, self.projects), {"kind": ALL})

    async def on_unsubscribe(self, data: dict) -> None:
        await self.follow(None, None)

    async def on_get_metrics(self, data: dict) -> None:
        skill = _text_field(data, "skill")
        if not skill:
            raise ClientError("bad_request", "get_metrics needs a 'skill'.")
        await self.check_skill(skill)
        body = await database_sync_to_async(skill_metrics)(tuple(self.projects), skill)
        frame = {"type": "metrics_response", "server_time": server_time(), **body}
        await self.send_text(encode(frame))

    async def check_skill(self, skill: str) -> None:
        if not await database_sync_to_async(skill_known)(tuple(self.projects), skill):
            raise ClientError("unknown_skill", f"No skill {skill!r} in your projects.")

    MESSAGES = {
        "ping": on_ping,
        "subscribe": on_subscribe,
        "unsubscribe": on_unsubscribe,
        "get_metrics": on_get_metrics,
    }
    FAST = {"websocket.receive": AsyncWebsocketConsumer.websocket_receive}


def _text_field(data: dict, name: str) -> str:
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str) or not value or len(value) > 200:
        raise ClientError("bad_request", f"'{name}' must be a non-empty string.")
    try:
        return check_text(value, name)
    except ValueError as exc:
        raise ClientError("bad_request", f"{exc}.") from None
