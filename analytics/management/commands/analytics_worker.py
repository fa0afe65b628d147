"""`manage.py analytics_worker`: evaluates anomalies every few minutes, recomputes the skill
dependencies and retrains the success predictor when it is due, as long as it runs."""

from __future__ import annotations

import signal
import threading
from datetime import UTC, datetime, timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections
from prometheus_client import start_http_server

from analytics.dependencies import refresh_dependencies
from analytics.detection import RunSummary, errors_total, evaluate
from analytics.predictor.training import maybe_retrain
from analytics.recommendations import refresh_usage
from lib.hours import floor_hour
from tracking.ingest import parse_timestamp


def next_run(now: datetime, interval: timedelta) -> datetime:
    """The next evaluation time after `now`: the next multiple of `interval` within the hour,
    or the next full hour, whichever comes first (so each hour is evaluated as it closes)."""
    hour = floor_hour(now)
    steps = (now - hour) // interval + 1
    return min(hour + steps * interval, hour + timedelta(hours=1))


class Command(BaseCommand):
    help = (
        "Evaluate skill anomalies (completion rate, volume, duration) from the hourly rollups "
        "at every full hour, re-checking every --interval-minutes, until stopped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one run, then exit")
        parser.add_argument(
            "--at", help="evaluate as of this ISO 8601 time (floored to the hour); implies --once"
        )
        parser.add_argument(
            "--interval-minutes",
            type=int,
            default=5,
            help="minutes between runs within an hour, 1 to 60 (default 5)",
        )
        parser.add_argument(
            "--metrics-port", type=int, help="serve this process's /metrics on 127.0.0.1:PORT"
        )

    def handle(self, *args, **opts) -> None:
        interval = opts["interval_minutes"]
        if not 1 <= interval <= 60:
            raise CommandError("--interval-minutes: must be an integer from 1 to 60.")
        if opts["at"] is not None:
            try:
                at = parse_timestamp(opts["at"], "--at")
            except ValueError as error:
                raise CommandError(str(error)) from None
            self._once(at)
            return
        if opts["once"]:
            self._once(datetime.now(UTC))
            return
        if opts["metrics_port"]:
            start_http_server(opts["metrics_port"], addr="127.0.0.1")
        self._loop(timedelta(minutes=interval))

    def _loop(self, interval: timedelta) -> None:
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        minutes = int(interval.total_seconds() // 60)
        self.stdout.write(f"analytics_worker: a run every {minutes} min and at each full hour")
        while not stop.is_set():
            try:
                self._report(evaluate(datetime.now(UTC)))
                refresh_dependencies(datetime.now(UTC))
                refresh_usage(datetime.now(UTC))
                maybe_retrain(datetime.now(UTC))
            except Exception as error:
                # A lost database connection or the like: log, count, try again next time.
                errors_total.inc()
                self.stderr.write(f"analytics_worker: run failed: {error}")
            close_old_connections()
            now = datetime.now(UTC)
            stop.wait((next_run(now, interval) - now).total_seconds())
        self.stdout.write("analytics_worker: stopped")

    def _once(self, at: datetime) -> None:
        summary = evaluate(at)
        self._report(summary)
        refresh_dependencies(at)
        refresh_usage(at)
        maybe_retrain(at)
        if summary.errors:
            raise CommandError(f"{len(summary.errors)} project evaluations failed")

    def _report(self, summary: RunSummary) -> None:
        self.stdout.write(
            f"analytics_worker: at {summary.at.isoformat()}: {summary.projects} projects, "
            f"{summary.tests} tests, {summary.opened} opened, {summary.updated} updated, "
            f"{summary.resolved} resolved, {len(summary.errors)} errors"
        )
        for error in summary.errors:
            self.stderr.write(f"analytics_worker: {error}")
