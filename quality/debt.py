"""Technical debt, SonarQube-style: remediation time of the findings, rated A–E by its ratio to
the estimated cost of writing the code (30 minutes per line, SonarQube's default)."""

from __future__ import annotations

from dataclasses import dataclass

from quality.observations import Observations, value

# Minutes to fix one finding of each kind.
REMEDIATION_MINUTES = {
    "tests.failed": 20,
    "tests.errors": 20,
    "security.findings.high": 60,
    "security.findings.medium": 30,
    "security.findings.low": 10,
    "security.secret_files": 30,
    "lint.findings.high": 10,
    "lint.findings.medium": 5,
    "lint.findings.low": 1,
    "types.errors": 5,
    "complexity.over_15": 30,
}
MINUTES_PER_LINE = 30
# Debt ratio upper bounds for ratings A–D; above the last one is E.
RATINGS = [(0.05, "A"), (0.10, "B"), (0.20, "C"), (0.50, "D")]


@dataclass(frozen=True)
class Debt:
    minutes: int | None  # None: no finding count was measured
    ratio: float | None  # None: size not measured
    level: str  # "" when the ratio is unknown
    counted: tuple[str, ...]  # keys that contributed
    not_measured: tuple[str, ...]


def rating(ratio: float) -> str:
    return next((letter for bound, letter in RATINGS if ratio <= bound), "E")


def compute(observations: Observations) -> Debt:
    counted, missing, minutes = [], [], 0.0
    for key, cost in REMEDIATION_MINUTES.items():
        v = value(observations, key)
        if v is None:
            missing.append(key)
        else:
            counted.append(key)
            minutes += v * cost
    if not counted:
        return Debt(None, None, "", (), tuple(missing))
    lines = value(observations, "fs.python_lines")
    if not lines:
        return Debt(round(minutes), None, "", tuple(counted), tuple(missing))
    ratio = minutes / (lines * MINUTES_PER_LINE)
    return Debt(round(minutes), ratio, rating(ratio), tuple(counted), tuple(missing))
