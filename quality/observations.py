"""One read-only shape for a measurement, whether fresh from a collector or loaded from the DB.

Score, gates, debt, recommendations and the report all work on `Observations` (key → Observed),
so a stored checkpoint yields exactly what its collectors produced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from quality.collectors.base import Reading


@dataclass(frozen=True)
class Observed:
    key: str
    value: float | None
    unit: str = ""
    tool: str = ""
    tool_version: str = ""
    artefact: str = ""
    measured_at: datetime | None = None
    reason: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_reading(cls, r: Reading) -> Observed:
        s = r.source
        return cls(
            r.key, r.value, r.unit, s.tool, s.tool_version, s.artefact, s.measured_at, r.reason,
            r.detail,
        )  # fmt: skip

    @classmethod
    def from_measurement(cls, m: Any) -> Observed:
        """From a tracking.models.Measurement row."""
        return cls(
            m.key, m.value, m.unit, m.tool, m.tool_version, m.artefact, m.measured_at, m.reason,
            m.detail or {},
        )  # fmt: skip


Observations = dict[str, Observed]


def from_readings(readings: list[Reading]) -> Observations:
    return {r.key: Observed.from_reading(r) for r in readings}


def value(observations: Observations, key: str) -> float | None:
    """The measured value, or None when not measured or not collected at all."""
    observed = observations.get(key)
    return None if observed is None else observed.value


def detail(observations: Observations, key: str) -> dict[str, Any]:
    observed = observations.get(key)
    return {} if observed is None else observed.detail
