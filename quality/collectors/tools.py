"""Linters and analysers: ruff, bandit, radon, mypy.

Each reads the tool's JSON from an artefact the user already has, or runs the tool (argument
list, timeout, version recorded). When neither is possible the keys are "not measured" with why.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from lib.text import loads_bounded
from quality.collectors.base import (
    ArtefactError,
    Reading,
    Source,
    ToolError,
    display_path,
    measured,
    not_measured,
    package_version,
    python_tool,
    read_artefact,
    read_regular,
    run_tool,
)
from quality.collectors.files import NOT_PROJECT_CODE_DIRS

RUFF_KEYS = ("lint.findings", "lint.findings.high", "lint.findings.medium", "lint.findings.low")
BANDIT_KEYS = ("security.findings.high", "security.findings.medium", "security.findings.low")
RADON_KEYS = ("complexity.max", "complexity.mean", "complexity.over_15")
MYPY_KEYS = ("types.errors",)
COMPLEXITY_LIMIT = 15
NOT_RUN = "no artefact given and tools were not run (--run-tools)"

# One documented severity map for ruff codes (docs/measurements.md): likely bugs and security
# findings are high, style and formatting low, the rest medium.
RUFF_SEVERITY = {
    "F": "high",  # pyflakes: undefined names, unused imports that hide typos
    "E9": "high",  # syntax and IO errors
    "B": "high",  # bugbear: likely bugs
    "S": "high",  # bandit rules
    "PLE": "high",  # pylint errors
    "SYNTAX": "high",  # ruff reports syntax errors without a code
    "E": "low",
    "W": "low",
    "I": "low",
    "D": "low",
    "N": "low",
    "Q": "low",
    "COM": "low",
    "UP": "low",
    "ISC": "low",
}


def ruff_severity(code: str | None) -> str:
    """high / medium / low for a ruff rule code: by its letters (SIM is not S), or by letters and
    first digit where that is listed (E9 is not E)."""
    code = code or "SYNTAX"
    letters = code.rstrip("0123456789")
    return RUFF_SEVERITY.get(code[: len(letters) + 1]) or RUFF_SEVERITY.get(letters, "medium")


def _load_json(path: Path) -> Any:
    data = read_artefact(path)
    try:
        return loads_bounded(data, name=path.name, allow_constants=True)
    except ValueError as exc:
        raise ArtefactError(f"{type(exc).__name__}: {exc}") from None


def _obtain(
    tool: str,
    package: str,
    root: Path,
    artefact: Path | None,
    run: bool,
    args: list[str],
    timeout: float,
    ok: tuple[int, ...],
) -> tuple[str, Source]:
    """The tool's JSON text and its source: read from the artefact, or from a run."""
    if artefact is not None:
        source = Source(tool=tool, artefact=display_path(artefact, root))
        return read_regular(artefact).decode(errors="replace"), source
    if not run:
        raise ArtefactError(NOT_RUN)
    version = package_version(package)
    # Long exclusion lists are left out of the recorded command line.
    shown = " ".join(a if len(a) <= 40 else "…" for a in [tool, *args])
    source = Source(tool=tool, tool_version=version, artefact=shown)
    if not version:
        raise ArtefactError(f"{tool} is not installed")
    try:
        result = run_tool([*python_tool(tool), *args], cwd=root, timeout=timeout)
    except ToolError as exc:
        raise ArtefactError(str(exc)) from None
    if result.returncode not in ok:
        raise ArtefactError(f"{tool} exited {result.returncode}: {result.stderr.strip()[-300:]}")
    return result.stdout, source


def _guard(
    keys: tuple[str, ...], tool: str, root: Path, artefact: Path | None, fn
) -> list[Reading]:
    source = Source(tool=tool, artefact=display_path(artefact, root) if artefact else "")
    try:
        return fn()
    except ArtefactError as exc:
        return not_measured(keys, source, str(exc))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        # Valid JSON of the wrong shape (a finding without a field, a list for an object).
        return not_measured(keys, source, f"not {tool} output: {type(exc).__name__}: {exc}")


def collect_ruff(
    root: Path, *, artefact: Path | None = None, run: bool = False, timeout: float = 300
) -> list[Reading]:
    """`lint.*` from `ruff check --output-format json`."""

    def read() -> list[Reading]:
        args = ["check", "--output-format", "json", "--exit-zero", "--no-cache", "."]
        text, source = _obtain("ruff", "ruff", root, artefact, run, args, timeout, (0,))
        findings = _parse(text)
        if not isinstance(findings, list) or not all(
            isinstance(f, dict) and "code" in f for f in findings
        ):
            raise ArtefactError("not ruff JSON output: expected a list of findings with `code`")
        by_code = Counter(f["code"] or "syntax-error" for f in findings)
        by_severity = Counter(ruff_severity(f["code"]) for f in findings)
        return [
            measured("lint.findings", len(findings), source, by_code=dict(sorted(by_code.items()))),
            *(
                measured(f"lint.findings.{s}", by_severity[s], source)
                for s in ("high", "medium", "low")
            ),
        ]

    return _guard(RUFF_KEYS, "ruff", root, artefact, read)


def _parse(text: str) -> Any:
    if not text.strip():
        raise ArtefactError("empty file")
    try:
        return loads_bounded(text, name="artefact", allow_constants=True)
    except ValueError as exc:
        raise ArtefactError(f"{type(exc).__name__}: {exc}") from None


def collect_bandit(
    root: Path, *, artefact: Path | None = None, run: bool = False, timeout: float = 300
) -> list[Reading]:
    """`security.findings.*` from `bandit -r -f json`."""

    def read() -> list[Reading]:
        excluded = ",".join(f"./{d}" for d in NOT_PROJECT_CODE_DIRS)
        # B101 (assert) is skipped: asserts are how pytest tests are written.
        args = ["-r", ".", "-f", "json", "-q", "-s", "B101", "-x", excluded]
        text, source = _obtain("bandit", "bandit", root, artefact, run, args, timeout, (0, 1))
        data = _parse(text)
        if not isinstance(data, dict) or not isinstance(data.get("results"), list):
            raise ArtefactError("not bandit JSON output: no `results` list")
        counts = Counter(str(r.get("issue_severity", "")).lower() for r in data["results"])
        worst = sorted(
            (
                {
                    "test_id": r.get("test_id"),
                    "file": str(r.get("filename", "")).removeprefix("./"),
                    "line": r.get("line_number"),
                    "severity": r.get("issue_severity"),
                }
                for r in data["results"]
                if r.get("issue_severity") == "HIGH"
            ),
            key=lambda r: (str(r["file"]), r["line"] or 0),
        )
        errors = [e.get("filename") for e in data.get("errors") or []]
        return [
            measured(
                "security.findings.high", counts["high"], source, high=worst[:10], errors=errors
            ),
            measured("security.findings.medium", counts["medium"], source),
            measured("security.findings.low", counts["low"], source),
        ]

    return _guard(BANDIT_KEYS, "bandit", root, artefact, read)


def collect_radon(
    root: Path, *, artefact: Path | None = None, run: bool = False, timeout: float = 300
) -> list[Reading]:
    """`complexity.*` from `radon cc -j`: functions and methods (classes are not counted twice)."""

    def read() -> list[Reading]:
        excluded = (
            ",".join(f"{d}/*" for d in NOT_PROJECT_CODE_DIRS)
            + ","
            + ",".join(f"*/{d}/*" for d in NOT_PROJECT_CODE_DIRS)
        )
        args = ["cc", "-j", "-e", excluded, "."]
        text, source = _obtain("radon", "radon", root, artefact, run, args, timeout, (0,))
        data = _parse(text)
        if not isinstance(data, dict):
            raise ArtefactError("not radon JSON output: expected an object of files")
        functions = []
        unparsable = []
        for filename, blocks in sorted(data.items()):
            if isinstance(blocks, dict):  # {"error": "..."} for a file radon could not parse
                unparsable.append(filename)
                continue
            for block in blocks:
                if block.get("type") in ("function", "method"):
                    name = (
                        f"{block.get('classname')}.{block['name']}"
                        if block.get("classname")
                        else block["name"]
                    )
                    functions.append(
                        {
                            "file": filename.removeprefix("./"),
                            "name": name,
                            "line": block.get("lineno"),
                            "complexity": block["complexity"],
                        }
                    )
        if not functions:
            raise ArtefactError("radon found no functions")
        worst = sorted(functions, key=lambda f: (-f["complexity"], f["file"], f["line"] or 0))
        values = [f["complexity"] for f in functions]
        over = [f for f in worst if f["complexity"] > COMPLEXITY_LIMIT]
        return [
            measured("complexity.max", max(values), source, worst=worst[:5], unparsable=unparsable),
            measured(
                "complexity.mean",
                round(sum(values) / len(values), 4),
                source,
                functions=len(values),
            ),
            measured("complexity.over_15", len(over), source, functions=over[:20]),
        ]

    return _guard(RADON_KEYS, "radon", root, artefact, read)


def collect_mypy(
    root: Path, *, artefact: Path | None = None, run: bool = False, timeout: float = 600
) -> list[Reading]:
    """`types.errors` from mypy's JSON lines (`mypy -O json`)."""

    def read() -> list[Reading]:
        excluded = "|".join(rf"(^|/){d}/" for d in NOT_PROJECT_CODE_DIRS)
        args = [
            "-O",
            "json",
            "--ignore-missing-imports",
            "--no-incremental",
            "--cache-dir",
            "/dev/null",
            "--exclude",
            excluded,
            ".",
        ]
        # mypy exits 1 when it found errors and 2 when it could not check at all.
        text, source = _obtain("mypy", "mypy", root, artefact, run, args, timeout, (0, 1))
        errors = []
        for line in text.splitlines():
            line = line.strip()
            if not line:
                continue
            try:
                item = loads_bounded(line, name="line", allow_constants=True)
            except ValueError as exc:
                raise ArtefactError(f"not mypy JSON lines: {exc}") from None
            if isinstance(item, dict) and item.get("severity") == "error":
                errors.append(item)
        by_code = Counter(e.get("code") or "other" for e in errors)
        return [
            measured("types.errors", len(errors), source, by_code=dict(sorted(by_code.items())))
        ]

    return _guard(MYPY_KEYS, "mypy", root, artefact, read)
