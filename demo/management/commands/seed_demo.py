"""`manage.py seed_demo [--if-empty] [--days 30] [--replace]`: load the demo projects."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from demo import seed as demo
from tracking.models import Project


class Command(BaseCommand):
    help = "Create demo projects (slugs demo-…) with sessions, checkpoints and invocations."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when any project exists."
        )
        parser.add_argument("--days", type=int, default=30, help="Days of history (default 30).")
        parser.add_argument("--seed", type=int, default=demo.DEFAULT_SEED)
        parser.add_argument(
            "--replace", action="store_true", help="Delete existing demo projects first."
        )

    def handle(self, *args, **options):
        if options["days"] < 1:
            raise CommandError("--days must be at least 1")
        if options["if_empty"] and Project.objects.exists():
            self.stdout.write("Projects exist already: no demo data loaded.")
            return
        if options["replace"]:
            self.stdout.write(f"Deleted {demo.delete_demo()} demo project(s).")
        elif Project.objects.filter(slug__startswith=demo.DEMO_PREFIX).exists():
            raise CommandError("Demo projects exist already; use --replace to load them again.")
        began = time.monotonic()
        result = demo.seed_demo(days=options["days"], seed=options["seed"])
        self.stdout.write(
            f"Loaded demo data ({time.monotonic() - began:.1f} s): "
            f"{len(result.projects)} projects, "
            f"{result.sessions} sessions, {result.checkpoints} checkpoints, "
            f"{result.measurements} measurements, {result.invocations} invocations. "
            "It is a sample, not measurements of a real repository."
        )
