"""Log-spaced duration buckets: the histogram kept per skill and hour, and its error bound.

Bucket 0 holds durations below `LOWEST_S`; bucket k ≥ 1 holds [LOWEST_S·r^(k−1), LOWEST_S·r^k)
with r = `RATIO`. A duration is estimated by its bucket's midpoint, so for a duration of at
least `LOWEST_S` the relative error is at most (r − 1)/2 = 4 % (worst at the lower edge);
below it the absolute error is at most LOWEST_S/2. The edges are fixed: changing them needs
a migration that re-buckets the stored counts.
"""

from __future__ import annotations

import math
from functools import cache

from lib.ranges import DURATION_MAX_S

RATIO = 1.08
LOWEST_S = 0.001
MAX_RELATIVE_ERROR = (RATIO - 1) / 2
# Enough buckets for the longest accepted duration (7 days): 270 at r = 1.08.
BUCKETS = math.ceil(math.log(DURATION_MAX_S / LOWEST_S) / math.log(RATIO)) + 2
_LOG_RATIO = math.log(RATIO)


def lower_edge(bucket: int) -> float:
    """The smallest duration of `bucket` (0 for bucket 0)."""
    return 0.0 if bucket == 0 else LOWEST_S * RATIO ** (bucket - 1)


def bucket_of(duration_s: float) -> int:
    """The bucket holding `duration_s` (≥ 0): lower_edge(k) ≤ duration < lower_edge(k + 1)."""
    if duration_s < LOWEST_S:
        return 0
    bucket = min(BUCKETS - 1, int(math.log(duration_s / LOWEST_S) / _LOG_RATIO) + 1)
    # The logarithm can land one bucket off at an edge; the edges themselves decide.
    while bucket > 1 and duration_s < lower_edge(bucket):
        bucket -= 1
    while bucket < BUCKETS - 1 and duration_s >= lower_edge(bucket + 1):
        bucket += 1
    return bucket


@cache
def midpoint(bucket: int) -> float:
    """The value that stands for every duration of `bucket` (cached: a histogram read
    converts every bucket of every skill)."""
    return (lower_edge(bucket) + lower_edge(bucket + 1)) / 2
