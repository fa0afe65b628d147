"""Work that can be left for later: take items while a deadline has not passed."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def before_deadline(items: Iterable[T], deadline: float | None) -> Iterator[T]:
    """The items, the first one always (so every call makes progress), the others only while
    `time.monotonic()` is before `deadline`; None takes them all."""
    for taken, item in enumerate(items):
        if taken and deadline is not None and time.monotonic() >= deadline:
            return
        yield item
