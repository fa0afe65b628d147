"""`manage.py checkpoint PATH --project SLUG [--session ID] [--kind ...] [--run-tools]
[--python P] [--coverage F] [--junit F] [--ruff F] [--bandit F] [--format markdown|json]
[--fail-on-gate]`.

Measures the repository at PATH, stores the checkpoint with its measurements, and prints the
report (from what was stored). Progress goes to stderr; exit 2 on a failed gate with
--fail-on-gate.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from quality.collectors.git import open_repo
from quality.measure import Artefacts, unread_artefacts
from quality.report import render_json, render_markdown
from tracking.checkpoints import UnknownSession, checkpoint_take
from tracking.models import Project, Session
from tracking.reports import report_data

ARTEFACTS = ("coverage", "junit", "ruff", "bandit")


class Command(BaseCommand):
    help = "Measure a repository, store a checkpoint and print its report."

    def add_arguments(self, parser):
        parser.add_argument("path", help="The repository (or folder) to measure.")
        parser.add_argument("--project", required=True, help="The project's slug.")
        parser.add_argument(
            "--session", default="", help="Session id; a new one needs --kind start."
        )
        parser.add_argument(
            "--kind",
            choices=["manual", "start", "end", "auto"],
            help="Default: start for a session's first checkpoint, manual otherwise.",
        )
        parser.add_argument(
            "--run-tools",
            action="store_true",
            help="Run pytest under coverage, ruff, bandit, radon, mypy (unless given files).",
        )
        parser.add_argument(
            "--python",
            help="The interpreter for the project's tests under --run-tools, with pytest and "
            "coverage installed (default: PATH/.venv/bin/python or PATH/venv/bin/python).",
        )
        parser.add_argument(
            "--coverage", help="coverage.json, Cobertura coverage.xml or .coverage."
        )
        parser.add_argument("--junit", help="A JUnit XML report.")
        parser.add_argument("--ruff", help="`ruff check --output-format json` output.")
        parser.add_argument("--bandit", help="`bandit -f json` output.")
        parser.add_argument("--format", choices=["markdown", "json"], default="markdown")
        parser.add_argument(
            "--fail-on-gate", action="store_true", help="Exit 2 when the quality gate fails."
        )

    def handle(self, *args, path: str, project: str, **options):
        root = Path(path)
        if not root.is_dir():
            raise CommandError(f"{path}: not a directory")
        if open_repo(root) is None:
            # Without git there is no commit, branch or history: most of the score would be
            # "not measured", and a checkpoint that names no commit cannot be compared later.
            raise CommandError(
                f"{path}: not inside a git work tree. A checkpoint measures a repository at a "
                "commit; run `git init` and commit there first."
            )
        found = Project.objects.filter(slug=project).first()
        if found is None:
            raise CommandError(f"No project with slug '{project}'.")
        limit = Session._meta.get_field("external_id").max_length
        if options["session"] and limit is not None and len(options["session"]) > limit:
            raise CommandError(f"--session: at most {limit} characters")
        files = {}
        for name in ARTEFACTS:
            given = options[name]
            if given:
                if not Path(given).is_file():
                    raise CommandError(f"--{name} {given}: no such file")
                files[name] = Path(given)
        python = Path(options["python"]).absolute() if options["python"] else None
        if python is not None and not python.is_file():
            raise CommandError(f"--python {options['python']}: no such file")
        started = time.perf_counter()

        def progress(step: str) -> None:
            self.stderr.write(f"[{time.perf_counter() - started:6.2f} s] {step}")

        try:
            checkpoint = checkpoint_take(
                project=found,
                root=root,
                session_id=options["session"],
                kind=options["kind"],
                artefacts=Artefacts(**files),
                run_tools=options["run_tools"],
                python=python,
                start_unknown=options["kind"] == "start",
                progress=progress,
            )
        except UnknownSession:
            # A mistyped id must not start a phantom session that becomes its own baseline.
            raise CommandError(
                f"--session {options['session']}: no such session in project '{project}'. "
                "To start it with this checkpoint, add --kind start."
            ) from None
        except ValueError as exc:  # the project's gate configuration
            raise CommandError(f"Project '{project}': {exc}") from None
        progress(f"checkpoint #{checkpoint.pk} stored")
        missing = {m.key: m.reason for m in checkpoint.measurements.all() if m.value is None}
        for name, artefact, reason in unread_artefacts(files, missing):
            self.stderr.write(f"warning: --{name} {artefact}: not read: {reason}")
        data = report_data(checkpoint)
        if options["format"] == "json":
            self.stdout.write(json.dumps(render_json(data), indent=2, ensure_ascii=False))
        else:
            self.stdout.write(render_markdown(data), ending="")
        if options["fail_on_gate"] and checkpoint.gate_verdict == "failed":
            failing = [g["metric"] for g in checkpoint.gate_results if g.get("passed") is False]
            raise CommandError(f"Quality gate failed: {', '.join(failing)}", returncode=2)
