"""Assignment: GrowthBook's hash vectors (AB-7) and bucket ranges, over UTF-16 code units."""

from __future__ import annotations

import pytest

from analytics.experiments.assignment import bucket_ranges, choose, fnv1a32, hash_v1, hash_v2


@pytest.mark.parametrize(
    ("seed", "unit", "value"),
    [
        ("seed", "a", 0.0505),
        ("seed", "b", 0.2696),
        ("foo", "ab", 0.2575),
        ("foo", "def", 0.2019),
        ("89123klj", "8952klfjas09ujkasdf", 0.124),
    ],
)
def test_ab7_hash_v2_vectors(seed, unit, value):
    assert hash_v2(seed, unit) == value


@pytest.mark.parametrize(("unit", "value"), [("a", 0.22), ("b", 0.077)])
def test_ab7_hash_v1_vectors(unit, value):
    assert hash_v1("", unit) == value


def test_ab7_bucket_ranges():
    assert bucket_ranges([0.5, 0.5]) == [(0, 0.5), (0.5, 1)]
    assert bucket_ranges([0.5, 0.5], coverage=0.5) == [(0, 0.25), (0.5, 0.75)]


def test_fnv1a_of_ascii_is_the_published_32_bit_value():
    # FNV-1a 32 of "a" is 0xe40c292c (the FNV reference test suite).
    assert fnv1a32("a") == 0xE40C292C
    assert fnv1a32("") == 0x811C9DC5


def test_the_hash_is_over_utf16_code_units_not_utf8_bytes():
    # "é" is one UTF-16 unit (0xE9) but two UTF-8 bytes; "😀" is two surrogate units.
    e_acute = ((0x811C9DC5 ^ 0xE9) * 0x01000193) & 0xFFFFFFFF
    assert fnv1a32("é") == e_acute
    value = 0x811C9DC5
    for unit in (0xD83D, 0xDE00):
        value = ((value ^ unit) * 0x01000193) & 0xFFFFFFFF
    assert fnv1a32("😀") == value


def test_choose_picks_the_range_holding_the_value_and_none_outside_coverage():
    ranges = bucket_ranges([0.5, 0.5], coverage=0.5)
    assert choose(0.1, ranges) == 0
    assert choose(0.3, ranges) is None
    assert choose(0.6, ranges) == 1
    assert choose(0.9, ranges) is None
