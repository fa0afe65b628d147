"""`manage.py webhook_secret SLUG --provider github|gitlab [--rotate]`: a project's webhook
secret for one provider, created on first use, printed alone on the last line (for `tail -1`).

The project's settings page (`/p/<slug>/integrations/`) shows the same secret.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from integrations.ci.models import PROVIDERS, WebhookSecret
from integrations.ci.setup import webhook_url
from tracking.models import Project


class Command(BaseCommand):
    help = "Show (creating it if needed) or rotate a project's GitHub or GitLab webhook secret."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("project", help="The project's slug.")
        parser.add_argument("--provider", required=True, choices=[p for p, _ in PROVIDERS])
        parser.add_argument(
            "--rotate", action="store_true", help="Replace the secret; the old one stops working."
        )

    def handle(self, *args: Any, project: str, provider: str, rotate: bool, **options: Any) -> None:
        found = Project.objects.filter(slug=project).first()
        if found is None:
            raise CommandError(f"No project with slug '{project}'.")
        existed = WebhookSecret.objects.filter(project=found, provider=provider).exists()
        row = WebhookSecret.of(found, provider, rotate=rotate)
        if rotate and existed:
            what = "Rotated; the old secret no longer verifies deliveries."
        elif existed:
            what = "Existing secret."
        else:
            what = "Created."
        self.stdout.write(f"{what} Payload URL: {webhook_url(found, provider)}")
        self.stdout.write(row.secret)
