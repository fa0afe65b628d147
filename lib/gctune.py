"""Python's cyclic garbage collector, made rare for the two kinds of process that need it.

Both make many short-lived objects beside many long-lived ones, and the default gen-0
threshold (700) makes the collector walk the long-lived ones over and over:
- a Daphne process holding thousands of WebSocket connections, where full collections stalled
  the event loop for ~600 ms every few seconds (docs/benchmarks.md, "Garbage collection under
  many connections"), or serving requests, where one in ten paid ~55 ms for a full collection
  of everything start-up loaded ("Re-run on a fresh machine of 2026-12-02");
- a transcript import, where collections took 12 % of a first import's time.
A higher gen-0 threshold collects rarely, and `gc.freeze()` sets the long-lived objects aside;
memory stays bounded, unlike switching collection off.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager

THRESHOLDS = (50_000, 20, 100)

_last_freeze = 0.0


def server_started() -> None:
    """A server process whose application is loaded: collect rarely from now on, and set what
    start-up made (modules, settings, URL patterns: ~270,000 objects) aside for good, so no
    full collection walks them again."""
    gc.set_threshold(*THRESHOLDS)
    gc.freeze()


def freeze_soon() -> None:
    """Move the objects alive now out of future collections; at most once a second."""
    global _last_freeze
    now = time.monotonic()
    if now - _last_freeze >= 1.0:
        _last_freeze = now
        gc.freeze()


@contextmanager
def few_collections() -> Iterator[None]:
    """Collect rarely inside the block (a batch job), with what is alive at its start frozen;
    then as before. The setting is process-wide: for a process of its own (a command)."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
