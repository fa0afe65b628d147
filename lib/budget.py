"""Work that can be left for later: take items while a deadline has not passed."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def before_deadline(items: Iterable[T], deadline: float | None) -> Iterator[T]:
    """The items while `time.monotonic()` is before `deadline`, checked before each one (an
    item begun before it runs to its end); None takes them all."""
    for item in items:
        if deadline is not None and time.monotonic() >= deadline:
            return
        yield item
