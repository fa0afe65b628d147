"""Shared hypothesis settings: fast, reproducible property tests.

Derandomized (the same examples on every run, so a failure reproduces) and without the
example database, so no `.hypothesis/` folder is written into the work tree.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

PROPERTY = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    # The database fixtures are per test, not per example: each example cleans up after itself
    # or uses keys of its own.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
