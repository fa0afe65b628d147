"""Daphne-specific fast path for frames sent to many clients: build the WebSocket frame once,
write it straight to each socket, and see how much each connection still has queued.

ASGI offers neither: every `send` goes through Daphne, autobahn and Twisted's buffered write
(two epoll changes and a deferred write per message), and nothing tells the application that
a client stopped reading. Daphne hands each application `send = partial(server.handle_reply,
protocol)` (under Channels' session middleware, which keeps it as `real_send`), so the
autobahn protocol and its Twisted transport are reachable. Server frames are unmasked, so with
no extension negotiated (Daphne enables none) the bytes are the same for every client. On any
other server `protocol_of` returns None and callers use the plain ASGI `send`.
"""

from __future__ import annotations

from functools import partial

from autobahn.websocket.protocol import PreparedMessage, WebSocketProtocol

from tracking import instruments

OPEN = WebSocketProtocol.STATE_OPEN

# Fan-out frames written to clients, by path: "direct" is one socket write of the frame built
# once, "twisted" autobahn's queued send (something was queued before it, or the socket refused
# the write), "asgi" the plain ASGI send (not Daphne, or Daphne's internals were not
# recognised). Plain ints, added to the counter once per fan-out (`flush_frames_written`): the
# per-client send loop is the hot path, and a Prometheus counter takes a lock per increment.
frames_written = {"direct": 0, "twisted": 0, "asgi": 0}


def flush_frames_written() -> None:
    """Add the frames written since the last flush to `cairn_live_frames_written_total`."""
    for path, count in frames_written.items():
        if count:
            instruments.live_frames_written.labels(path).inc(count)
            frames_written[path] = 0


def unwrap(send):
    """The server's own `send` under middleware wrappers. The session wrapper only acts on
    HTTP responses, so WebSocket frames may skip it (and its lazy-object lookup per frame)."""
    while hasattr(getattr(send, "__self__", None), "real_send"):
        send = send.__self__.real_send
    return send


def protocol_of(send):
    """The autobahn protocol behind Daphne's `send`, when its transport is a plain TCP one."""
    send = unwrap(send)
    if not (isinstance(send, partial) and send.args):
        return None
    protocol = send.args[0]
    transport = getattr(protocol, "transport", None)
    if isinstance(protocol, WebSocketProtocol) and hasattr(transport, "dataBuffer"):
        return protocol
    return None


def buffered_bytes(protocol) -> int:
    """Bytes queued in user space for this connection (beyond the kernel's socket buffer)."""
    transport = protocol.transport
    return len(transport.dataBuffer) - transport.offset + transport._tempDataLen


def abort(protocol) -> None:
    """Drop the connection now, without waiting for what is queued for it."""
    protocol.transport.abortConnection()


def prepare(text: str) -> PreparedMessage:
    """A text frame built once for every client."""
    return PreparedMessage(text.encode(), isBinary=False, applyMask=False, doNotCompress=False)


def send_prepared(protocol, prepared: PreparedMessage) -> None:
    """Write a prepared frame: straight to the socket when nothing is queued before it."""
    if protocol.state != OPEN:
        return
    transport = protocol.transport
    direct = (
        protocol._perMessageCompress is None
        and not protocol.send_queue
        and not getattr(transport, "TLS", False)
        and not transport.disconnecting
        and buffered_bytes(protocol) == 0
    )
    if not direct:
        frames_written["twisted"] += 1
        protocol.sendPreparedMessage(prepared)
        return
    data = prepared.payloadHybi
    try:
        sent = transport.socket.send(data)
    except OSError:
        # Would block, or the connection is failing: Twisted's write path takes over and
        # reports the failure the usual way.
        sent = 0
    frames_written["direct" if sent else "twisted"] += 1
    if sent < len(data):
        transport.write(data[sent:])
