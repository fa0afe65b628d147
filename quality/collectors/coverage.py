"""Coverage from coverage.json, a Cobertura coverage.xml, or a .coverage data file."""

from __future__ import annotations

import re
import sqlite3
import tempfile
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lib.ranges import COUNT_MAX
from quality.collectors.base import (
    ArtefactError,
    Reading,
    Source,
    display_path,
    local_name,
    measured,
    not_measured,
    package_version,
    parse_json,
    parse_xml_bytes,
    read_artefact,
    read_regular,
)

KEYS = (
    "coverage.line_percent",
    "coverage.branch_percent",
    "coverage.statements",
    "coverage.covered",
    "coverage.missing",
)
CONDITION = re.compile(r"\((\d+)/(\d+)\)")
# coverage.py's data file schema this reader knows (coverage.sqldata.SCHEMA_VERSION in 7.x).
SCHEMA_VERSION = 7
# The largest source file read for a local data file's statements.
MAX_SOURCE_BYTES = 16 * 1024 * 1024


@dataclass
class CoverageTotals:
    statements: int
    covered: int
    branches: int | None  # None: the report holds no branch data
    branches_covered: int | None
    files: int
    tool: str
    tool_version: str

    def check(self) -> CoverageTotals:
        """The totals if they are consistent counts, else ArtefactError: a report whose covered
        lines exceed its statements would give more than 100 %."""
        for name, value in (
            ("num_statements", self.statements),
            ("covered_lines", self.covered),
            ("num_branches", self.branches),
            ("covered_branches", self.branches_covered),
        ):
            if value is not None and not 0 <= value <= COUNT_MAX:
                raise ArtefactError(f"{name} {value} is outside 0..{COUNT_MAX}")
        if self.covered > self.statements:
            raise ArtefactError(f"covered_lines {self.covered} > num_statements {self.statements}")
        if (self.branches_covered or 0) > (self.branches or 0):
            raise ArtefactError(
                f"covered_branches {self.branches_covered} > num_branches {self.branches or 0}"
            )
        return self


@dataclass(frozen=True)
class DataFileContents:
    """What a `.coverage` data file holds by itself: executed lines, not statements."""

    files: int
    executed_lines: int
    branch_data: bool


def read_coverage_json(path: Path) -> CoverageTotals:
    """Totals of a `coverage json` report, from its counts rather than its rounded percent."""
    return coverage_json_totals(read_artefact(path))


def coverage_json_totals(content: bytes) -> CoverageTotals:
    """Totals of the bytes of a `coverage json` report; ArtefactError if they are not one."""
    data = parse_json(content or b"null", "coverage JSON")
    if not isinstance(data, dict) or not isinstance(data.get("totals"), dict):
        raise ArtefactError("not a coverage.py JSON report: no `totals` object")
    totals = data["totals"]
    meta: dict[str, Any] = data["meta"] if isinstance(data.get("meta"), dict) else {}
    has_branches = meta.get("branch_coverage", "num_branches" in totals) is True
    files = data.get("files")
    return CoverageTotals(
        statements=_count(totals, "num_statements"),
        covered=_count(totals, "covered_lines"),
        branches=_count(totals, "num_branches") if has_branches else None,
        branches_covered=_count(totals, "covered_branches") if has_branches else None,
        files=len(files) if isinstance(files, dict) else 0,
        tool="coverage.py (json)",
        tool_version=str(meta.get("version", ""))[:100],
    ).check()


def _count(totals: dict, key: str) -> int:
    if key not in totals:
        raise ArtefactError(f"coverage.json totals lack {key!r}")
    value = totals[key]
    # A float (NaN, 1e999 from JSON) or a string is not a count; coverage.py writes integers.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArtefactError(f"coverage.json totals.{key} is not an integer: {value!r:.40}")
    return value


def read_cobertura(path: Path) -> CoverageTotals:
    """Totals recomputed from a Cobertura report's <line> elements (they are what is measured;
    the header's rates are rounded)."""
    return cobertura_totals(read_artefact(path))


def cobertura_totals(content: bytes) -> CoverageTotals:
    """Totals of the bytes of a Cobertura report; ArtefactError if they are not one."""
    root = parse_xml_bytes(content)
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
                raise ArtefactError(
                    f"line hits is not a number: {line.get('hits')!r:.40}"
                ) from None
            taken = valid = 0
            if line.get("branch") == "true":
                taken, valid = _condition(line.get("condition-coverage", ""))
            lines[(filename, line.get("number", ""))] = (hit, taken, valid)
    branches = sum(v for _, _, v in lines.values())
    # The producer is named only in a comment, which ElementTree drops.
    producer = content[:2048].decode("utf-8", "replace")
    return CoverageTotals(
        statements=len(lines),
        covered=sum(1 for hit, _, _ in lines.values() if hit),
        branches=branches or None,
        branches_covered=sum(t for _, t, _ in lines.values()) if branches else None,
        files=len(files),
        tool="coverage.py (Cobertura xml)" if "coverage.py" in producer else "cobertura",
        tool_version=root.get("version", "")[:100],
    ).check()


def _condition(text: str) -> tuple[int, int]:
    """(taken, valid) of a `condition-coverage="50% (1/2)"` attribute; (0, 0) without one."""
    match = CONDITION.search(text)
    if not match:
        return 0, 0
    if len(match[1]) > 15 or len(match[2]) > 15:
        raise ArtefactError(f"condition-coverage is out of range: {text!r:.40}")
    taken, valid = int(match[1]), int(match[2])
    if taken > valid:
        raise ArtefactError(f"condition-coverage covers more than its branches: {text!r:.40}")
    return taken, valid


def is_data_file(content: bytes) -> bool:
    """Whether the bytes are an SQLite database (what coverage.py's `.coverage` is)."""
    return content.startswith(b"SQLite format 3\0")


def data_file_contents(content: bytes) -> DataFileContents:
    """What a `.coverage` data file holds, read from its own bytes alone: no path it names is
    opened. ArtefactError if it is not a coverage.py data file.

    The file is queried with sqlite3 rather than coverage.py's API, which would expand every
    line number into a list (a few megabytes of bits are hundreds of millions of lines), and
    under a step budget, because a database can hold views that never finish.
    """
    with tempfile.TemporaryDirectory(prefix="cairn-coverage-") as tmp:
        copy = Path(tmp) / "data.coverage"
        copy.write_bytes(content)
        try:
            with closing(sqlite3.connect(f"{copy.as_uri()}?mode=ro", uri=True)) as db:
                return _contents(db)
        except sqlite3.Error as exc:
            raise ArtefactError(
                f"not a coverage.py data file: {type(exc).__name__}: {exc}"
            ) from None


SQLITE_STEP_BUDGET = 50_000  # progress-handler calls of 1,000 steps each: well under a second
DATA_TABLES = {"coverage_schema", "file", "line_bits", "arc"}


def _contents(db: sqlite3.Connection) -> DataFileContents:
    steps = iter(range(SQLITE_STEP_BUDGET))
    db.set_progress_handler(lambda: next(steps, None) is None, 1000)
    kinds = dict(db.execute("SELECT name, type FROM sqlite_master"))
    wrong = sorted(t for t in DATA_TABLES if kinds.get(t) != "table")
    if wrong:
        raise ArtefactError(f"not a coverage.py data file: no table {', '.join(wrong)}")
    version = db.execute("SELECT max(version) FROM coverage_schema").fetchone()[0]
    if version != SCHEMA_VERSION:
        raise ArtefactError(
            f"coverage.py data file of schema version {version!r:.20}; this reader knows "
            f"{SCHEMA_VERSION}"
        )
    files = db.execute("SELECT count(*) FROM file").fetchone()[0]
    arcs = db.execute("SELECT count(*) FROM arc").fetchone()[0]
    if arcs:
        # As coverage.py's lines(): every positive line number at either end of an arc.
        executed = db.execute(
            "SELECT count(*) FROM (SELECT file_id, fromno FROM arc WHERE fromno > 0 "
            "UNION SELECT file_id, tono FROM arc WHERE tono > 0)"
        ).fetchone()[0]
    else:
        merged: dict[object, int] = {}
        for file_id, bits in db.execute("SELECT file_id, numbits FROM line_bits"):
            if isinstance(bits, bytes):
                merged[file_id] = merged.get(file_id, 0) | int.from_bytes(bits, "little")
        executed = sum(value.bit_count() for value in merged.values())
    return DataFileContents(files=files, executed_lines=executed, branch_data=bool(arcs))


def read_data_file(path: Path, *, sources_root: Path | None = None) -> CoverageTotals:
    """Totals of a `.coverage` data file, through coverage.py's own JSON report.

    The data file holds executed lines only; statements come from the source files, which
    must still be at the paths recorded in it, and inside `sources_root` (default: the data
    file's folder). Each source is read here, as a bounded regular file, and coverage.py
    reports on copies: it opens no path that the data file names.
    """
    return _data_file_totals(read_artefact(path), sources_root or path.parent)


def _data_file_totals(content: bytes, sources_root: Path) -> CoverageTotals:
    try:
        import coverage
    except ImportError:
        raise ArtefactError("coverage.py is not installed") from None
    root = sources_root.resolve()
    with tempfile.TemporaryDirectory(prefix="cairn-coverage-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "recorded.coverage").write_bytes(content)
        out = tmp / "coverage.json"
        try:
            recorded = coverage.CoverageData(basename=str(tmp / "recorded.coverage"))
            recorded.read()
            copies = coverage.CoverageData(basename=str(tmp / "copies.coverage"))
            for index, name in enumerate(sorted(recorded.measured_files())):
                if recorded.file_tracer(name):
                    raise ArtefactError(f"{name} was measured by a coverage.py plugin")
                copy = tmp / "sources" / str(index) / Path(name).name
                copy.parent.mkdir(parents=True)
                copy.write_bytes(_source(name, root))
                if recorded.has_arcs():
                    copies.add_arcs({str(copy): recorded.arcs(name) or []})
                else:
                    copies.add_lines({str(copy): recorded.lines(name) or []})
                copies.touch_file(str(copy))  # measured even with no line executed
            copies.write()
            cov = coverage.Coverage(data_file=str(tmp / "copies.coverage"), config_file=False)
            cov.load()
            cov.json_report(outfile=str(out))
        except ArtefactError:
            raise
        except Exception as exc:  # coverage.py raises its own exception types and sqlite3's
            raise ArtefactError(f"{type(exc).__name__}: {exc}") from None
        totals = read_coverage_json(out)
    totals.tool = "coverage.py (data file)"
    totals.tool_version = package_version("coverage")
    return totals


def _source(name: str, root: Path) -> bytes:
    """A measured file's source: a regular file inside `root`, bounded, else ArtefactError."""
    path = Path(name) if Path(name).is_absolute() else root / name
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        raise ArtefactError(f"No source for code: '{name}'.") from None
    if not resolved.is_relative_to(root):
        raise ArtefactError(f"source outside the repository root {root}: '{name}'")
    return read_regular(resolved, MAX_SOURCE_BYTES)


def read_any(path: Path, *, sources_root: Path | None = None) -> CoverageTotals:
    """Pick the reader by content: JSON object, XML, or a coverage.py SQLite data file (its
    sources read inside `sources_root`, default the data file's folder)."""
    return _totals(read_artefact(path), sources_root or path.parent)


def _totals(content: bytes, sources_root: Path) -> CoverageTotals:
    if is_data_file(content):
        return _data_file_totals(content, sources_root)
    if content.lstrip().startswith(b"{"):
        return coverage_json_totals(content)
    return cobertura_totals(content)


def collect(
    path: Path | str, *, root: Path | str | None = None, sources: bool = True
) -> list[Reading]:
    """Readings for the `coverage.*` keys from one coverage artefact.

    A `.coverage` data file needs its sources, read only inside `root` (default: the data
    file's folder); with `sources=False` (an upload) it is read alone, and the statement
    figures are not measured.
    """
    path = Path(path)
    artefact = display_path(path, root)
    try:
        content = read_artefact(path)
        if not sources and is_data_file(content):
            source = Source(
                tool="coverage.py (data file)",
                tool_version=package_version("coverage"),
                artefact=artefact,
            )
            return _without_sources(data_file_contents(content), source)
        totals = _totals(content, Path(root) if root is not None else path.parent)
    except ArtefactError as exc:
        return not_measured(KEYS, Source(tool="coverage", artefact=artefact), str(exc))
    return _readings(totals, artefact)


def collect_without_sources(path: Path | str, *, root: Path | str | None = None) -> list[Reading]:
    """`collect` for an uploaded artefact: a data file is read alone, no path in it opened."""
    return collect(path, root=root, sources=False)


def _without_sources(contents: DataFileContents, source: Source) -> list[Reading]:
    reason = (
        f"a .coverage data file holds executed lines only ({contents.executed_lines} lines in "
        f"{contents.files} files), not statements, which come from the sources; an uploaded "
        "file's sources are not read. Upload a Cobertura report (`coverage xml`) or a "
        "`coverage json` report instead"
    )
    readings = not_measured(KEYS, source, reason)
    for reading in readings:
        reading.detail = {
            "executed_lines": contents.executed_lines,
            "files": contents.files,
            "branch_data": contents.branch_data,
        }
    return readings


def _readings(totals: CoverageTotals, artefact: str) -> list[Reading]:
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
