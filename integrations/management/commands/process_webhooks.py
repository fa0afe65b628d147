"""`manage.py process_webhooks [--loop SECONDS]`: do the CI deliveries still pending or failed.

Each delivery is normally done right after its request commits; this picks up what a crashed
process left, and retries failures. With `--loop` it runs until stopped, like a worker.
"""

from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from integrations.ci.models import WebhookDelivery
from integrations.ci.pipelines import pending_deliveries, process_delivery


class Command(BaseCommand):
    help = "Process pending or failed CI webhook deliveries."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--loop", type=float, default=0, help="Seconds between passes; 0 = one pass."
        )

    def handle(self, *args: Any, loop: float, **options: Any) -> None:
        while True:
            todo = pending_deliveries()
            for pk in todo:
                process_delivery(pk)
            failed = WebhookDelivery.objects.filter(
                pk__in=todo, status=WebhookDelivery.ERROR
            ).count()
            self.stdout.write(f"{len(todo)} deliveries processed, {failed} failed.")
            if loop <= 0:
                return
            time.sleep(loop)
