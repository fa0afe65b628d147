"""Work left for later: the first item is always taken, the others only before the deadline."""

from __future__ import annotations

import time

from lib.budget import before_deadline


def test_without_a_deadline_every_item_is_taken():
    assert list(before_deadline(range(5), None)) == [0, 1, 2, 3, 4]


def test_past_the_deadline_only_the_first_item_is_taken():
    assert list(before_deadline(range(5), time.monotonic() - 1)) == [0]


def test_items_are_taken_until_the_deadline_passes(monkeypatch):
    clock = iter([10.0, 10.5, 11.0, 11.5])  # the times the items after the first are asked at
    monkeypatch.setattr(time, "monotonic", lambda: next(clock))
    # Asked at 10.0 and 10.5 the deadline 11.0 has not passed; at 11.0 it has.
    assert list(before_deadline("abcdef", 11.0)) == ["a", "b", "c"]


def test_nothing_is_taken_from_nothing():
    assert list(before_deadline([], time.monotonic() - 1)) == []
