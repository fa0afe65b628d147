"""`POST /api/v1/hooks/claude-code`: Claude Code's HTTP hooks, authenticated by a write key."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.response import Response

from integrations.claude_code.hooks import EVENTS, MAX_AGENT_ID, MAX_ID, HookError, handle_hook
from tracking.api.ingest import IngestView, RawJSONParser, parse_json_body
from tracking.api.limits import read_body
from tracking.api.permissions import HasWriteKey
from tracking.api.schema import RequiredBodySchema, errors

TOOL_EVENTS = ["PostToolUse", "PostToolUseFailure", "PreToolUse"]


def _text(limit: int, *, required: bool = False) -> dict:
    # `_text` in hooks.py: null and "" are "not given", so only a required field has minLength.
    if required:
        return {"type": "string", "minLength": 1, "maxLength": limit}
    return {"type": "string", "nullable": True, "maxLength": limit}


def hook_input_schema() -> dict:
    """The hook input Cairn reads (hooks.handle_hook); Claude Code sends more, which is kept."""
    common = {
        "hook_event_name": {"type": "string", "enum": sorted(EVENTS)},
        "session_id": _text(MAX_ID, required=True),
        "agent_id": _text(MAX_AGENT_ID),
        "cwd": _text(1000),
    }
    tool = {"tool_use_id": _text(200, required=True), "tool_name": _text(200, required=True)}
    other = {"tool_use_id": _text(200), "tool_name": _text(200)}
    return {
        "oneOf": [
            {
                "type": "object",
                "properties": {
                    **common,
                    "hook_event_name": {"type": "string", "enum": TOOL_EVENTS},
                    **tool,
                },
                "required": ["hook_event_name", "session_id", "tool_use_id", "tool_name"],
            },
            {
                "type": "object",
                "properties": {
                    **common,
                    "hook_event_name": {"type": "string", "enum": sorted(EVENTS - {*TOOL_EVENTS})},
                    **other,
                },
                "required": ["hook_event_name", "session_id"],
            },
        ]
    }


class ClaudeCodeHookApi(IngestView):
    ingest_source = "hook"
    parser_classes = [RawJSONParser]
    permission_classes = [HasWriteKey]
    schema = RequiredBodySchema()

    @extend_schema(
        summary="Receive a Claude Code hook",
        description=(
            "The JSON input of a SessionStart, UserPromptSubmit, PreToolUse, PostToolUse, "
            "PostToolUseFailure, Stop, SubagentStop, PreCompact or SessionEnd hook. Answers "
            "204 with an empty body: Claude Code would add any text to the model's context."
        ),
        request={"application/json": hook_input_schema()},
        responses={204: OpenApiResponse(description="Stored."), **errors(400, 401, 403, 413)},
        examples=[
            OpenApiExample(
                "PostToolUse",
                request_only=True,
                value={
                    "session_id": "4d5611e5-241a-462a-8d15-5122611a9569",
                    "cwd": "/home/me/cairn",
                    "hook_event_name": "PostToolUse",
                    "tool_name": "Bash",
                    "tool_input": {"command": "pytest"},
                    "tool_use_id": "toolu_01ABC",
                    "tool_response": {"stdout": "3 passed"},
                },
            )
        ],
    )
    def post(self, request):
        body = read_body(request, settings.INGEST_MAX_BYTES)
        payload = parse_json_body(body)
        try:
            handle_hook(request.user.project, payload)
        except HookError as exc:
            raise exceptions.ParseError(str(exc)) from None
        return Response(status=status.HTTP_204_NO_CONTENT)
