"""`manage.py mcp --project SLUG [--read-only]`: Cairn's MCP server over stdio.

For `claude mcp add cairn -- <path>/.venv/bin/python <path>/manage.py mcp --project SLUG`.
stdout carries the protocol alone; anything else goes to stderr.
"""

from __future__ import annotations

import anyio
from django.core.management.base import BaseCommand, CommandError
from mcp.server.stdio import stdio_server

from integrations.mcp.registry import local_caller
from integrations.mcp.server import build_server
from tracking.models import Project


class Command(BaseCommand):
    help = "Serve Cairn's MCP tools over stdio for a local agent."

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True, help="The project's slug.")
        parser.add_argument(
            "--read-only", action="store_true", help="Offer the read tools only (no checkpoint)."
        )

    def handle(self, *args, project: str, read_only: bool, **options):
        found = Project.objects.filter(slug=project).first()
        if found is None:
            raise CommandError(f"--project {project}: no such project.")
        caller = local_caller(found, read_only=read_only)
        server = build_server(lambda ctx: caller)

        async def serve() -> None:
            async with stdio_server() as (read, write):
                await server.run(read, write, server.create_initialization_options())

        anyio.run(serve)
