"""Coverage from coverage.json, a Cobertura coverage.xml, or a .coverage data file."""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from quality.collectors.base import (
    ArtefactError,
    Reading,
    Source,
    display_path,
    local_name,
    measured,
    not_measured,
    package_version,
    parse_xml,
)

KEYS = (
    "coverage.line_percent",
    "coverage.branch_percent",
    "coverage.statements",
    "coverage.covered",
    "coverage.missing",
)
CONDITION = re.compile(r"\((\d+)/(\d+)\)")


@dataclass
class CoverageTotals:
    statements: int
    covered: int
    branches: int | None  # None: the report holds no branch data
    branches_covered: int | None
    files: int
    tool: str
    tool_version: str


def read_coverage_json(path: Path) -> CoverageTotals:
    """Totals of a `coverage json` report, from its counts rather than its rounded percent."""
    try:
        data = json.loads(path.read_bytes() or b"null")
    except (OSError, ValueError) as exc:
        raise ArtefactError(f"{type(exc).__name__}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("totals"), dict):
        raise ArtefactError("not a coverage.py JSON report: no `totals` object")
    totals, meta = data["totals"], data.get("meta") or {}
    try:
        statements, covered = int(totals["num_statements"]), int(totals["covered_lines"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtefactError(f"coverage.json totals lack {exc}") from None
    has_branches = meta.get("branch_coverage", "num_branches" in totals)
    return CoverageTotals(
        statements=statements,
        covered=covered,
        branches=int(totals["num_branches"]) if has_branches else None,
        branches_covered=int(totals["covered_branches"]) if has_branches else None,
        files=len(data.get("files") or {}),
        tool="coverage.py (json)",
        tool_version=str(meta.get("version", "")),
    )


def read_cobertura(path: Path) -> CoverageTotals:
    """Totals recomputed from a Cobertura report's <line> elements (they are what is measured;
    the header's rates are rounded)."""
    root = parse_xml(path)
    if local_name(root.tag) != "coverage":
        raise ArtefactError(f"not a Cobertura report: root element is <{local_name(root.tag)}>")
    lines: dict[tuple[str, str], tuple[bool, int, int]] = {}
    files: set[str] = set()
    for cls in root.iter():
        if local_name(cls.tag) != "class":
            continue
        filename = cls.get("filename", "")
        files.add(filename)
        for line in cls.iter():
            if local_name(line.tag) != "line":
                continue
            try:
                hit = int(line.get("hits", "0")) > 0
            except ValueError:
                raise ArtefactError(f"line hits is not a number: {line.get('hits')!r}") from None
            taken = valid = 0
            if line.get("branch") == "true":
                match = CONDITION.search(line.get("condition-coverage", ""))
                if match:
                    taken, valid = int(match[1]), int(match[2])
            lines[(filename, line.get("number", ""))] = (hit, taken, valid)
    branches = sum(v for _, _, v in lines.values())
    return CoverageTotals(
        statements=len(lines),
        covered=sum(1 for hit, _, _ in lines.values() if hit),
        branches=branches or None,
        branches_covered=sum(t for _, t, _ in lines.values()) if branches else None,
        files=len(files),
        tool="coverage.py (Cobertura xml)" if "coverage.py" in _comments(path) else "cobertura",
        tool_version=root.get("version", ""),
    )


def _comments(path: Path) -> str:
    # The producer is named only in a comment, which ElementTree drops.
    with path.open("rb") as f:
        return f.read(2048).decode("utf-8", "replace")


def read_data_file(path: Path) -> CoverageTotals:
    """Totals of a `.coverage` data file, through coverage.py's own JSON report.

    The data file holds executed lines only; statements come from the source files, which must
    still be at the paths recorded in it.
    """
    try:
        import coverage
    except ImportError:
        raise ArtefactError("coverage.py is not installed") from None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "coverage.json"
        try:
            cov = coverage.Coverage(data_file=str(path), config_file=False)
            cov.load()
            cov.json_report(outfile=str(out))
        except Exception as exc:  # coverage.py raises its own exception types and sqlite3's
            raise ArtefactError(f"{type(exc).__name__}: {exc}") from None
        totals = read_coverage_json(out)
    totals.tool = "coverage.py (data file)"
    totals.tool_version = package_version("coverage")
    return totals


def read_any(path: Path) -> CoverageTotals:
    """Pick the reader by content: JSON object, XML, or a coverage.py SQLite data file."""
    try:
        head = path.read_bytes()[:64]
    except OSError as exc:
        raise ArtefactError(f"cannot read: {exc}") from None
    if not head.strip():
        raise ArtefactError("empty file")
    if head.startswith(b"SQLite format 3"):
        return read_data_file(path)
    if head.lstrip().startswith(b"{"):
        return read_coverage_json(path)
    return read_cobertura(path)


def collect(path: Path | str, *, root: Path | str | None = None) -> list[Reading]:
    """Readings for the `coverage.*` keys from one coverage artefact."""
    path = Path(path)
    artefact = display_path(path, root)
    try:
        totals = read_any(path)
    except ArtefactError as exc:
        return not_measured(KEYS, Source(tool="coverage", artefact=artefact), str(exc))
    source = Source(tool=totals.tool, tool_version=totals.tool_version, artefact=artefact)
    readings = [
        measured("coverage.statements", totals.statements, source, files=totals.files),
        measured("coverage.covered", totals.covered, source),
        measured("coverage.missing", totals.statements - totals.covered, source),
    ]
    if totals.statements:
        percent = 100.0 * totals.covered / totals.statements
        readings.append(measured("coverage.line_percent", percent, source))
    else:
        readings += not_measured(["coverage.line_percent"], source, "the report has 0 statements")
    if totals.branches:
        percent = 100.0 * (totals.branches_covered or 0) / totals.branches
        readings.append(
            measured(
                "coverage.branch_percent",
                percent,
                source,
                branches=totals.branches,
                covered=totals.branches_covered,
            )
        )
    else:
        readings += not_measured(
            ["coverage.branch_percent"], source, "the report holds no branch data"
        )
    return readings
