"""Work left for later: items are taken only while the deadline has not passed."""

from __future__ import annotations

import time
from types import SimpleNamespace

from lib import budget
from lib.budget import before_deadline


def test_without_a_deadline_every_item_is_taken():
    assert list(before_deadline(range(5), None)) == [0, 1, 2, 3, 4]


def test_past_the_deadline_no_item_is_taken():
    assert list(before_deadline(range(5), time.monotonic() - 1)) == []


def test_items_are_taken_until_the_deadline_passes(monkeypatch):
    clock = iter([10.0, 10.5, 11.0, 11.5])  # the times the items are asked for at
    monkeypatch.setattr(budget, "time", SimpleNamespace(monotonic=lambda: next(clock)))
    # Asked at 10.0 and 10.5 the deadline 11.0 has not passed; at 11.0 it has.
    assert list(before_deadline("abcdef", 11.0)) == ["a", "b"]


def test_nothing_is_taken_from_nothing():
    assert list(before_deadline([], time.monotonic() - 1)) == []
