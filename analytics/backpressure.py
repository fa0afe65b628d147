"""How many bytes wait in a connection's outgoing buffer, where the server lets us see it.

ASGI has no back-pressure for WebSocket sends: Daphne writes every frame into the Twisted
transport, which buffers without limit when the client stops reading. Daphne hands each
application `send = partial(server.handle_reply, protocol)` (wrapped by Channels' session
middleware), so the transport is reachable from the consumer's `send`; on any other server
`transport_of` returns None and nothing is enforced.
"""

from __future__ import annotations

from functools import partial


def unwrap(send):
    """The server's own `send` under middleware wrappers (Channels' session middleware keeps
    it as `real_send`). The session wrapper only acts on HTTP responses, so WebSocket frames
    may skip it, and with it a lazy-object lookup per frame."""
    while hasattr(getattr(send, "__self__", None), "real_send"):
        send = send.__self__.real_send
    return send


def transport_of(send):
    """The Twisted transport behind Daphne's `send`, or None."""
    send = unwrap(send)
    if isinstance(send, partial) and send.args:
        transport = getattr(send.args[0], "transport", None)
        if transport is not None and hasattr(transport, "dataBuffer"):
            return transport
    return None


def buffered_bytes(transport) -> int:
    """Bytes queued in user space for this connection (beyond the kernel's socket buffer)."""
    return len(transport.dataBuffer) - transport.offset + transport._tempDataLen
