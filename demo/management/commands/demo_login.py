"""`manage.py demo_login`: make sure the demo's `admin` user exists and print how to log in."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from demo.login import ensure_demo_admin


class Command(BaseCommand):
    help = "Ensure a superuser 'admin' (password in var/demo_login or $CAIRN_ADMIN_PASSWORD)."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="where Cairn listens")

    def handle(self, *args, **options):
        username, password = ensure_demo_admin()
        self.stdout.write(f"Log in at {options['url']} as {username} / {password}")
