"""Reading what crackerjack writes: `.crackerjack/runs/<run_id>/events.jsonl` and the run's
quality-gate report, into the body `POST /api/v1/crackerjack/runs` takes.

events.jsonl (crackerjack's `core/ai_fix_sinks.py` JsonlSink) is one JSON object a line with
`kind`, `run_id`, `iteration` and `ts`. Cairn reads three kinds:

- `run_started`: its `ts` is the run's start; `commit` and `branch` when given;
- `phase_changed`: `phase`, `status`, `duration_seconds` and `hooks` (HookResult rows: name,
  stage, status, duration, issues_count); the last one of a phase wins. The reference notes do
  not list this kind's fields: these are the names of the API body, and a line without them
  is refused with its line number;
- `run_finished`: nothing more is needed from it.

Other kinds are counted and left. The quality-gate report is `quality_gate.json` beside the
events (QualityGateReport.to_dict()).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lib.text import loads_bounded

EVENTS = "events.jsonl"
GATE = "quality_gate.json"
# A run folder's files are read whole: bounded like an API body.
MAX_FILE_BYTES = 64 * 1024 * 1024


class RunFileError(ValueError):
    """A run folder Cairn cannot read; the message names the file and line."""


@dataclass
class RunFolder:
    path: Path
    body: dict
    other_kinds: int = 0
    kinds: dict[str, int] = field(default_factory=dict)


def run_folders(path: Path) -> list[Path]:
    """The run folders under `path`: a project (its .crackerjack/runs/*), a runs folder, or one
    run folder; sorted by name."""
    if (path / EVENTS).is_file():
        return [path]
    runs = path / ".crackerjack" / "runs" if (path / ".crackerjack").is_dir() else path
    if not runs.is_dir():
        raise RunFileError(f"{path}: no .crackerjack/runs folder and no {EVENTS}")
    return sorted(p for p in runs.iterdir() if p.is_dir() and (p / EVENTS).is_file())


def _read(path: Path) -> bytes:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise RunFileError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
    return path.read_bytes()


def read_run(folder: Path) -> RunFolder:
    """The API body of one run folder; RunFileError names what is wrong."""
    events_path = folder / EVENTS
    body: dict = {"run_id": folder.name, "phases": []}
    phases: dict[str, dict] = {}
    kinds: dict[str, int] = {}
    other = 0
    for number, line in enumerate(_read(events_path).splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{events_path.name}:{number}"
        try:
            event = loads_bounded(line, name=where)
        except ValueError as exc:
            raise RunFileError(f"{where}: not JSON ({exc})") from None
        if not isinstance(event, dict) or not isinstance(event.get("kind"), str):
            raise RunFileError(f"{where}: an event is a JSON object with a 'kind'")
        kind = event["kind"]
        kinds[kind] = kinds.get(kind, 0) + 1
        if event.get("run_id") not in (None, folder.name):
            raise RunFileError(f"{where}: 'run_id' {event.get('run_id')!r} is not the folder's")
        if kind == "run_started":
            body["started_at"] = event.get("ts")
            for name in ("commit", "branch"):
                if event.get(name):
                    body[name] = event[name]
        elif kind == "phase_changed":
            if "phase" not in event or "status" not in event:
                raise RunFileError(f"{where}: a phase_changed event needs 'phase' and 'status'")
            phases[str(event["phase"])] = {
                "phase": event["phase"],
                "status": event["status"],
                "duration_seconds": event.get("duration_seconds"),
                "hooks": event.get("hooks") or [],
            }
        elif kind != "run_finished":
            other += 1
    body["phases"] = list(phases.values())
    gate_path = folder / GATE
    if gate_path.is_file():
        try:
            body["quality_gate"] = loads_bounded(_read(gate_path), name=GATE)
        except ValueError as exc:
            raise RunFileError(f"{GATE}: not JSON ({exc})") from None
    return RunFolder(path=folder, body=body, other_kinds=other, kinds=kinds)
