"""Garbage-collector settings for a process holding thousands of WebSocket connections.

With the default thresholds, full collections over thousands of connections' objects stall
the event loop for ~600 ms every few seconds (measured; docs/architecture.md, "The fast path"). A
higher gen-0 threshold, and freezing long-lived objects once connections settle, removes the
stalls; disabling GC entirely would let memory grow.
"""

from __future__ import annotations

import gc
import time

_last_freeze = 0.0


def tune() -> None:
    gc.set_threshold(50_000, 20, 100)


def freeze_soon() -> None:
    """Move the objects alive now out of future collections; at most once a second."""
    global _last_freeze
    now = time.monotonic()
    if now - _last_freeze >= 1.0:
        _last_freeze = now
        gc.freeze()
