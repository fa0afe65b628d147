"""The MCP tools' registry: what each tool is called, takes, may do, and runs.

A tool is a plain function of the caller and its validated arguments that returns a `ToolAnswer`
(JSON with the REST API's fields, and a short text for the model). Its arguments are a DRF
serializer, the same one the REST endpoint validates with wherever there is one, so a tool
refuses what the API refuses, with the same reasons. Adding a tool is writing its function and
one `register(...)` call (see integrations/mcp/tools.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rest_framework import serializers

from tracking.auth import ApiKeyUser

STDIO = "stdio"
HTTP = "http"
TRANSPORTS = (STDIO, HTTP)


@dataclass(frozen=True)
class Caller:
    """Who calls a tool: a project's key (HTTP), or the local process acting as one (stdio)."""

    user: ApiKeyUser
    transport: str

    @property
    def can_write(self) -> bool:
        return self.user.api_key.can_write


@dataclass(frozen=True)
class ToolAnswer:
    """A tool's result: `data` as JSON (the REST fields), `text` a summary for the model."""

    data: dict[str, Any]
    text: str


class ToolRefused(Exception):
    """A call the caller may not make, or an argument that names nothing (an MCP tool error)."""


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    arguments: type[serializers.Serializer]
    run: Callable[[Caller, dict[str, Any]], ToolAnswer]
    writes: bool = False
    transports: tuple[str, ...] = TRANSPORTS
    # False: `run` gets the arguments as sent (names checked, values not), for a tool that
    # hands them to a REST body function which validates them itself.
    prevalidate: bool = True

    def offered_to(self, caller: Caller) -> bool:
        """A tool is listed, and may be called, only where it works and when the key may write
        if it writes: a read-only key sees the read tools alone."""
        return caller.transport in self.transports and (caller.can_write or not self.writes)


TOOLS: dict[str, ToolSpec] = {}


def register(spec: ToolSpec) -> ToolSpec:
    """Add a tool; a second tool of the same name is a programming error."""
    if spec.name in TOOLS:
        raise ValueError(f"MCP tool {spec.name!r} is registered twice")
    TOOLS[spec.name] = spec
    return spec


def offered(caller: Caller) -> list[ToolSpec]:
    """The tools this caller may list and call, in registration order."""
    return [spec for spec in TOOLS.values() if spec.offered_to(caller)]


def local_caller(project, *, read_only: bool = False) -> Caller:
    """The caller of `manage.py mcp`: whoever runs it can reach the database, so it acts as a
    key of the project it names (never stored; `read_only` lists the read tools alone)."""
    from tracking.models import ApiKey

    key = ApiKey(project=project, scope=ApiKey.READ if read_only else ApiKey.WRITE)
    return Caller(ApiKeyUser(key), STDIO)
