"""`manage.py loadtest`: open N lean WebSocket clients on /ws/live/ and measure delivery."""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from analytics.loadtest import Options, run, summary
from tracking.models import Checkpoint, Measurement

MEASUREMENTS = [
    ("loadtest.clients_connected", "connected", "clients"),
    ("loadtest.clients_failed", "failed", "clients"),
    ("loadtest.messages_per_s", "messages_per_s", "msg/s"),
    ("loadtest.delivered_ratio", "delivered_ratio", "ratio"),
    ("loadtest.dropped", "dropped", "messages"),
    ("loadtest.errors", "errors", "count"),
]


class Command(BaseCommand):
    help = "Load-test the live WebSocket API and report delivery, latency and server load."

    def add_arguments(self, parser):
        parser.add_argument(
            "--url",
            action="append",
            required=True,
            help="e.g. ws://127.0.0.1:8000/ws/live/; repeat to spread clients over servers",
        )
        parser.add_argument("--clients", type=int, required=True)
        parser.add_argument("--duration", type=float, required=True, help="measured seconds")
        parser.add_argument("--ramp", type=float, default=0.0, help="spread connects over S s")
        parser.add_argument("--subscribe", choices=["all", "skill", "project"], default="all")
        parser.add_argument("--target", default="", help="the skill or project to subscribe to")
        parser.add_argument("--token", default="", help="API key (sent as a Bearer header)")
        parser.add_argument("--processes", type=int, default=1, help="client processes")
        parser.add_argument(
            "--server-pid", type=int, action="append", default=[], help="repeatable"
        )
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        parser.add_argument("--attach-checkpoint", type=int, help="store as loadtest.* measures")

    def handle(self, *args, **opts):
        if opts["clients"] < 1 or opts["duration"] <= 0 or opts["processes"] < 1:
            raise CommandError("--clients and --processes must be >= 1, --duration > 0")
        if opts["subscribe"] == "skill" and not opts["target"]:
            raise CommandError("--subscribe skill needs --target SKILL")
        if opts["subscribe"] == "project" and not opts["target"]:
            raise CommandError("--subscribe project needs --target SLUG")
        checkpoint = None
        if opts["attach_checkpoint"]:
            checkpoint = Checkpoint.objects.filter(pk=opts["attach_checkpoint"]).first()
            if checkpoint is None:
                raise CommandError(f"No checkpoint {opts['attach_checkpoint']}")
        options = Options(
            urls=opts["url"],
            clients=opts["clients"],
            duration=opts["duration"],
            ramp=opts["ramp"],
            subscribe=opts["subscribe"],
            target=opts["target"],
            token=opts["token"],
            processes=min(opts["processes"], opts["clients"]),
            server_pids=opts["server_pid"],
        )
        result = run(options, progress=self.progress)
        if sys.stderr.isatty():
            sys.stderr.write("\n")
        if checkpoint is not None:
            attach(checkpoint, result)
        self.stdout.write(json.dumps(result, indent=2) if opts["json"] else summary(result))

    def progress(self, line: str) -> None:
        # One line rewritten in place on a terminal; one line per second in a log.
        sys.stderr.write(f"\r{line:<78}" if sys.stderr.isatty() else f"{line}\n")
        sys.stderr.flush()


@transaction.atomic
def attach(checkpoint: Checkpoint, result: dict) -> None:
    """Store the report on a checkpoint: one measurement per figure, the report as detail."""
    latency = result["latency_ms"] or {}
    rows = [(key, result[field], unit) for key, field, unit in MEASUREMENTS]
    rows += [
        (f"loadtest.latency_{q}_ms", latency.get(q), "ms") for q in ("p50", "p95", "p99", "max")
    ]
    for key, value, unit in rows:
        Measurement.objects.update_or_create(
            checkpoint=checkpoint,
            key=key,
            defaults={
                "value": value,
                "unit": unit,
                "tool": "cairn loadtest",
                "measured_at": timezone.now(),
                "reason": "" if value is not None else "no frames received in the window",
                "detail": result,
            },
        )
