"""`manage.py createproject NAME [--slug SLUG] [--member USERNAME ...]`.

Prints the new project's write key on the last line, alone, so scripts can take it with `tail -1`.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Field
from django.utils.text import slugify

from tracking.models import Project


class Command(BaseCommand):
    help = "Create a project and a write API key; the key is printed once, on the last line."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--slug", help="URL name (default: from NAME).")
        parser.add_argument(
            "--member",
            action="append",
            default=[],
            metavar="USERNAME",
            help="A user who may see the project (repeatable).",
        )

    def handle(self, *args, name: str, slug: str | None, member: list[str], **options):
        if slug is not None and slugify(slug) != slug:
            # A slug given is used as it is or refused: quietly changing it would make the
            # project's URLs and API filters differ from what the user typed.
            raise CommandError(
                f"--slug {slug!r}: use lowercase letters, digits, dashes and underscores only "
                f"(for example {slugify(slug) or 'my-app'!r})."
            )
        slug = slug or slugify(name)
        if not slug:
            raise CommandError("The project needs a slug of letters, digits or dashes.")
        for label, text in (("slug", slug), ("name", name)):
            field = Project._meta.get_field(label)
            limit = field.max_length if isinstance(field, Field) else None
            if limit is not None and len(text) > limit:
                raise CommandError(f"The project's {label} may have at most {limit} characters.")
        if Project.objects.filter(slug=slug).exists():
            raise CommandError(f"A project with slug '{slug}' exists already.")
        users = list(get_user_model().objects.filter(username__in=member))
        missing = sorted(set(member) - {u.get_username() for u in users})
        if missing:
            raise CommandError(f"No such user: {', '.join(missing)}")
        with transaction.atomic():
            project = Project.objects.create(name=name, slug=slug)
            project.members.add(*users)
            _, plain = project.create_api_key(scope="write", name="createproject")
        self.stdout.write(f"Created project '{name}' (slug {slug}).")
        self.stdout.write("Its write key follows; it is shown only this once:")
        self.stdout.write(plain)
