"""`manage.py apikey list|create|revoke|rotate`: a project's API keys.

    apikey list SLUG
    apikey create SLUG [--scope write|read] [--name NAME]
    apikey revoke SLUG PREFIX
    apikey rotate SLUG PREFIX

`create` and `rotate` print the new key on the last line, alone (for `tail -1`); it is stored
hashed and never shown again. A key is named by its prefix, as `list` and the admin show it.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Field

from lib.formatting import timestamp
from tracking.models import ApiKey, Project


class Command(BaseCommand):
    help = "List, create, revoke or rotate a project's API keys."

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        listing = actions.add_parser("list", help="The project's keys, newest first.")
        listing.add_argument("project", help="The project's slug.")
        create = actions.add_parser("create", help="A new key; printed once, on the last line.")
        create.add_argument("project", help="The project's slug.")
        create.add_argument("--scope", choices=["write", "read"], default="write")
        create.add_argument("--name", default="", help="What the key is for, e.g. 'CI'.")
        for name, text in (("revoke", "Stop a key from working."), ("rotate", "Replace a key.")):
            action = actions.add_parser(name, help=text)
            action.add_argument("project", help="The project's slug.")
            action.add_argument("prefix", help="The key's prefix, as `apikey list` shows it.")

    def handle(self, *args: Any, action: str, project: str, **options: Any) -> None:
        found = Project.objects.filter(slug=project).first()
        if found is None:
            raise CommandError(f"No project with slug '{project}'.")
        if action == "list":
            self._list(found)
        elif action == "create":
            self._create(found, options["scope"], options["name"])
        elif action == "revoke":
            key = _key(found, options["prefix"])
            if not key.revoke():
                raise CommandError(f"Key {key.prefix}… is revoked already.")
            self.stdout.write(f"Revoked key {key.prefix}… ({key.scope}) of '{found.slug}'.")
        else:
            key = _key(found, options["prefix"])
            try:
                new, plain = key.rotate()
            except ValueError as exc:
                raise CommandError(f"Cannot rotate: {exc}.") from None
            self.stdout.write(f"Revoked key {key.prefix}…; its replacement follows, shown once:")
            self.stdout.write(plain)

    def _list(self, project: Project) -> None:
        keys = project.api_keys.order_by("-created_at", "-pk")
        if not keys:
            self.stdout.write(f"'{project.slug}' has no keys.")
        for key in keys:
            state = f"revoked {timestamp(key.revoked_at)}" if key.revoked_at else "active"
            used = timestamp(key.last_used_at) if key.last_used_at else "never used"
            self.stdout.write(
                f"{key.prefix}…  {key.get_scope_display():9}  {key.name or '—':20}  "
                f"created {timestamp(key.created_at)}  last used {used}  {state}"
            )

    def _create(self, project: Project, scope: str, name: str) -> None:
        field = ApiKey._meta.get_field("name")
        limit = field.max_length if isinstance(field, Field) else None
        if limit is not None and len(name) > limit:
            raise CommandError(f"--name: at most {limit} characters.")
        _, plain = project.create_api_key(scope=scope, name=name)
        self.stdout.write(f"Created a {scope} key for '{project.slug}'; it is shown only once:")
        self.stdout.write(plain)


def _key(project: Project, prefix: str) -> ApiKey:
    """The project's key with this prefix (the trailing "…" of listings is allowed)."""
    key = project.api_keys.filter(prefix=prefix.rstrip("…")).first()
    if key is None:
        raise CommandError(f"'{project.slug}' has no key with prefix '{prefix}'.")
    return key
