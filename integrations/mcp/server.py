"""Cairn's MCP server (the official SDK's low-level `Server`), one for both transports.

The caller of each request is found by `caller_of` (the key of the HTTP request, or the
project `manage.py mcp` was started for), so the tools listed and callable, and the projects
they may read, are the caller's, per request. Tool bodies use the ORM, which may not run on the
event loop: they run in a thread (`sync_to_async`), with the connection handling of a Django
request around them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import mcp_types as types
from asgiref.sync import sync_to_async
from django.db import close_old_connections
from mcp.server.lowlevel.server import Server
from mcp.shared.exceptions import MCPError
from mcp_types.jsonrpc import INVALID_PARAMS
from rest_framework.exceptions import APIException
from rest_framework.utils.encoders import JSONEncoder

from integrations.mcp import tools  # registers the tools
from integrations.mcp.arguments import input_schema, reason, validated
from integrations.mcp.registry import TOOLS, Caller, ToolAnswer, ToolRefused, offered
from quality.report import render_markdown
from tracking.api.scope import visible
from tracking.models import Checkpoint, Session
from tracking.reports import report_data

CallerOf = Callable[[Any], Caller]
RESOURCES_LISTED = 50
CHECKPOINT_URI = re.compile(r"^cairn://checkpoints/([1-9]\d{0,17})$")
SESSION_URI = re.compile(r"^cairn://sessions/([1-9]\d{0,17})$")


def as_json(data: Any) -> Any:
    """`data` as the REST API renders it (DRF's encoder: decimals, times, UUIDs)."""
    return json.loads(json.dumps(data, cls=JSONEncoder, ensure_ascii=False))


def error_result(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=text)], is_error=True)


def call(caller: Caller, name: str, arguments: dict[str, Any] | None) -> types.CallToolResult:
    """Run one tool call for `caller`; every refusal is a tool error with its reason."""
    spec = TOOLS.get(name)
    if spec is None or not spec.offered_to(caller):
        if spec is not None and caller.transport in spec.transports:
            return error_result(f"{name}: this API key is read-only.")
        return error_result(f"{name}: no such tool.")
    try:
        answer: ToolAnswer = spec.run(caller, validated(spec, arguments))
    except ToolRefused as exc:
        return error_result(str(exc))
    except APIException as exc:  # the REST validators' and scope's own errors (400, 404)
        return error_result(reason(exc))
    data = as_json(answer.data)
    return types.CallToolResult(
        content=[
            types.TextContent(text=answer.text),
            types.TextContent(text=json.dumps(data, ensure_ascii=False)),
        ],
        structured_content=data,
    )


def tool_list(caller: Caller) -> list[types.Tool]:
    return [
        types.Tool(
            name=spec.name,
            description=spec.description,
            input_schema=input_schema(spec),
            annotations=types.ToolAnnotations(read_only_hint=not spec.writes),
        )
        for spec in offered(caller)
    ]


def resource_list(caller: Caller) -> list[types.Resource]:
    """The caller's project's latest checkpoints and sessions (the templates reach the rest)."""
    checkpoints = visible(Checkpoint.objects.all(), caller.user).order_by("-created_at", "-pk")
    sessions = visible(Session.objects.all(), caller.user).order_by("-started_at", "-pk")
    return [
        *(
            types.Resource(
                uri=f"cairn://checkpoints/{c.pk}",
                name=f"checkpoint-{c.pk}",
                title=f"Checkpoint {c.pk} ({c.kind}, {c.created_at:%Y-%m-%d %H:%M} UTC)",
                mime_type="text/markdown",
            )
            for c in checkpoints[:RESOURCES_LISTED]
        ),
        *(
            types.Resource(
                uri=f"cairn://sessions/{s.pk}",
                name=f"session-{s.pk}",
                title=f"Session {s.pk} ({s.external_id})",
                mime_type="application/json",
            )
            for s in sessions[:RESOURCES_LISTED]
        ),
    ]


RESOURCE_TEMPLATES = [
    types.ResourceTemplate(
        uri_template="cairn://checkpoints/{id}",
        name="checkpoint",
        description="A checkpoint's report, as Markdown.",
        mime_type="text/markdown",
    ),
    types.ResourceTemplate(
        uri_template="cairn://sessions/{id}",
        name="session",
        description="A session's summary (the session_summary tool's JSON).",
        mime_type="application/json",
    ),
]


def read(caller: Caller, uri: str) -> types.ReadResourceResult:
    """A resource's contents, or an MCP error naming what is wrong with the URI."""
    try:
        if match := CHECKPOINT_URI.match(uri):
            checkpoint = tools.visible_checkpoint(caller, int(match[1]))
            text = render_markdown(report_data(checkpoint))
            contents = types.TextResourceContents(uri=uri, mime_type="text/markdown", text=text)
        elif match := SESSION_URI.match(uri):
            data = as_json(tools.session_summary_data(caller, int(match[1])))
            contents = types.TextResourceContents(
                uri=uri, mime_type="application/json", text=json.dumps(data, ensure_ascii=False)
            )
        else:
            raise ToolRefused(
                f"{uri}: not a Cairn resource (cairn://checkpoints/<id>, cairn://sessions/<id>)."
            )
    except ToolRefused as exc:
        raise MCPError(INVALID_PARAMS, str(exc)) from None
    except APIException as exc:
        raise MCPError(INVALID_PARAMS, reason(exc)) from None
    return types.ReadResourceResult(contents=[contents])


def with_db(function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` run in a thread, its database connection handled as Django handles a
    request's: unusable or expired connections closed before, and closed (back to the pool)
    after, since these calls do not pass through Django's request handler."""

    def run(*args: Any) -> Any:
        close_old_connections()
        try:
            return function(*args)
        finally:
            close_old_connections()

    return sync_to_async(run)


def build_server(caller_of: CallerOf) -> Server:
    """The MCP server; `caller_of(ctx)` says who sent the request being handled."""

    async def list_tools(ctx, params) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tool_list(caller_of(ctx)))

    async def call_tool(ctx, params: types.CallToolRequestParams) -> types.CallToolResult:
        return await with_db(call)(caller_of(ctx), params.name, params.arguments)

    async def list_resources(ctx, params) -> types.ListResourcesResult:
        found = await with_db(resource_list)(caller_of(ctx))
        return types.ListResourcesResult(resources=found)

    async def list_templates(ctx, params) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(resource_templates=RESOURCE_TEMPLATES)

    async def read_resource(
        ctx, params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        return await with_db(read)(caller_of(ctx), str(params.uri))

    return Server(
        "cairn",
        instructions="Cairn records this coding session's checkpoints and quality. "
        "Figures that were not measured are null, never 0.",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_list_resource_templates=list_templates,
        on_read_resource=read_resource,
    )
