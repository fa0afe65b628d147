"""`manage.py import_crackerjack PATH --project SLUG`: crackerjack runs from their output
folders (`PATH/.crackerjack/runs/<run_id>/events.jsonl` and `quality_gate.json`).

Each run is stored once (by run_id): importing again adds nothing. A run folder that cannot be
read or validated is reported with the field or line and left out; the command then exits
non-zero after the others are stored.
"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from integrations.crackerjack.reading import RunFileError, read_run, run_folders
from integrations.crackerjack.runs import CrackerjackRunSerializer, record_run
from tracking.models import Project


def describe(errors: Any, prefix: str = "") -> list[str]:
    """A serializer's errors as 'field.sub[0].name: message' lines."""
    if isinstance(errors, dict):
        lines = []
        for name, value in errors.items():
            if isinstance(name, int):  # a list's item, as ListField reports it
                label = f"{prefix}[{name}]"
            else:
                label = f"{prefix}.{name}" if prefix else str(name)
            lines += describe(value, label)
        return lines
    if isinstance(errors, list) and errors and not all(isinstance(e, str) for e in errors):
        lines = []
        for index, value in enumerate(errors):
            if value:
                lines += describe(value, f"{prefix}[{index}]")
        return lines
    return [f"{prefix}: {' '.join(str(e) for e in errors)}"]


class Command(BaseCommand):
    help = "Import crackerjack runs (events.jsonl and the quality-gate report) into a project."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("path", type=Path, help="A project, its .crackerjack/runs, or a run.")
        parser.add_argument("--project", required=True, help="The Cairn project's slug.")

    def handle(self, *args: Any, path: Path, project: str, **options: Any) -> None:
        found = Project.objects.filter(slug=project).first()
        if found is None:
            raise CommandError(f"No project with slug '{project}'.")
        try:
            folders = run_folders(path)
        except RunFileError as exc:
            raise CommandError(str(exc)) from None
        failed = 0
        stored = 0
        for index, folder in enumerate(folders, start=1):
            label = f"[{index}/{len(folders)}] {folder.name}"
            try:
                run = read_run(folder)
            except RunFileError as exc:
                failed += 1
                self.stderr.write(f"{label}: {exc}")
                continue
            form = CrackerjackRunSerializer(data=run.body)
            if not form.is_valid():
                failed += 1
                self.stderr.write(f"{label}: " + "; ".join(describe(form.errors)))
                continue
            recorded = record_run(found, form.validated_data, source="import", artefact=str(folder))
            if recorded.created:
                stored += 1
                checkpoint = recorded.run.checkpoint_id
                self.stdout.write(
                    f"{label}: {recorded.invocations} hook invocations, checkpoint #{checkpoint}"
                )
            else:
                self.stdout.write(f"{label}: imported before, unchanged")
        known = len(folders) - stored - failed
        self.stdout.write(f"{stored} runs stored, {known} already known, {failed} refused.")
        if failed:
            raise CommandError(f"{failed} run folder(s) refused; see above.")
