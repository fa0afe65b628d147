"""How many bytes wait in a connection's outgoing buffer, where the server lets us see it.

ASGI has no back-pressure for WebSocket sends: Daphne writes every frame into the Twisted
transport, which buffers without limit when the client stops reading. Daphne hands each
application `send = partial(server.handle_reply, protocol)`, so the transport is reachable
from the consumer's `send`; on any other server these return None and nothing is enforced.
"""

from __future__ import annotations

from functools import partial


def _transport(send):
    if isinstance(send, partial) and send.args:
        transport = getattr(send.args[0], "transport", None)
        if transport is not None and hasattr(transport, "dataBuffer"):
            return transport
    return None


def buffered_bytes(send) -> int | None:
    """Bytes queued in user space for this connection (beyond the kernel's socket buffer)."""
    transport = _transport(send)
    if transport is None:
        return None
    return len(transport.dataBuffer) - transport.offset + transport._tempDataLen


def abort(send) -> None:
    """Drop the TCP connection now, discarding what is queued."""
    transport = _transport(send)
    if transport is not None:
        transport.abortConnection()
