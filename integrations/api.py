"""`POST /api/v1/hooks/claude-code`: Claude Code's HTTP hooks, authenticated by a write key."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.claude_code.hooks import HookError, handle_hook
from tracking.api.ingest import RawJSONParser, parse_json_body
from tracking.api.limits import read_body
from tracking.api.permissions import HasWriteKey


class ClaudeCodeHookApi(APIView):
    parser_classes = [RawJSONParser]
    permission_classes = [HasWriteKey]

    @extend_schema(
        summary="Receive a Claude Code hook",
        description=(
            "The JSON input of a SessionStart, UserPromptSubmit, PreToolUse, PostToolUse, "
            "PostToolUseFailure, Stop, SubagentStop, PreCompact or SessionEnd hook. Answers "
            "204 with an empty body: Claude Code would add any text to the model's context."
        ),
        request=dict,
        responses={204: OpenApiResponse(description="Stored.")},
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
