"""Deterministic assignment of a unit to an arm: GrowthBook's hash v2 and bucket ranges.

The hash is FNV-1a 32-bit over the UTF-16 code units of the text, as GrowthBook's JavaScript
SDK computes it (`charCodeAt`); for ASCII this equals FNV-1a over the bytes. Hash v2 of a unit
is fnv1a32(str(fnv1a32(seed + unit))) mod 10,000 / 10,000; arms take cumulative ranges of their
weights, so the same (seed, unit) always lands in the same arm.
"""

from __future__ import annotations

from collections.abc import Sequence

FNV_OFFSET = 0x811C9DC5
FNV_PRIME = 0x01000193
MASK_32 = 0xFFFFFFFF


def utf16_code_units(text: str) -> list[int]:
    """The UTF-16 code units of `text` (a character beyond the BMP is two surrogates)."""
    data = text.encode("utf-16-le", "surrogatepass")
    return [data[i] | data[i + 1] << 8 for i in range(0, len(data), 2)]


def fnv1a32(text: str) -> int:
    """FNV-1a 32-bit over the UTF-16 code units of `text` (GrowthBook's `hashFnv32a`)."""
    value = FNV_OFFSET
    for unit in utf16_code_units(text):
        value ^= unit
        value = (value * FNV_PRIME) & MASK_32
    return value


def hash_v2(seed: str, unit: str) -> float:
    """GrowthBook's hash version 2, in [0, 1) with 4 decimals."""
    return (fnv1a32(str(fnv1a32(seed + unit))) % 10000) / 10000


def hash_v1(seed: str, unit: str) -> float:
    """GrowthBook's (biased) hash version 1, kept only to check the vectors: not used."""
    return (fnv1a32(unit + seed) % 1000) / 1000


def bucket_ranges(weights: Sequence[float], coverage: float = 1.0) -> list[tuple[float, float]]:
    """Each arm's [start, end) in the unit interval: cumulative weights scaled by coverage."""
    ranges = []
    start = 0.0
    for weight in weights:
        ranges.append((start, start + coverage * weight))
        start += weight
    return ranges


def choose(value: float, ranges: Sequence[tuple[float, float]]) -> int | None:
    """The index of the range holding `value`, or None when it falls in none (not covered)."""
    for index, (start, end) in enumerate(ranges):
        if start <= value < end:
            return index
    return None
