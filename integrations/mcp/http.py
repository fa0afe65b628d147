"""The MCP server over streamable HTTP at `/mcp/`, in front of Django in the ASGI application.

Each request passes the checks the REST API makes before a view runs: the Host must be one of
ALLOWED_HOSTS and a browser's Origin one of them too (as `/ws/live/`'s origin check), the body
is at most INGEST_MAX_BYTES (413; the SDK's own limit, which also counts chunked bodies), and
the `Authorization: Bearer <key>` key is checked by `tracking.auth` with its failed-key
lockout (429 with Retry-After). A read-only key is offered the read tools alone.

The SDK's session manager is run stateless with JSON answers: every request stands alone, so
any of several Daphne processes behind a proxy may answer it, and nothing lives in one process
that another would need.

Daphne runs no ASGI lifespan, so the manager's `run()` (which the SDK expects a lifespan to
enter) is entered by the first request, in a task that holds it open for as long as the
process's event loop runs.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import split_domain_port, validate_host
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

from integrations.mcp.registry import HTTP, Caller
from integrations.mcp.server import build_server, with_db
from tracking.api.errors import error_body
from tracking.auth import TooManyKeyFailures, authenticate_key_from, bearer_token

PATH = "/mcp/"
SCOPE_KEY = "cairn.mcp.caller"


def caller_of_request(ctx: Any) -> Caller:
    """The caller this app authenticated for the HTTP request being handled."""
    return ctx.request.scope[SCOPE_KEY]


def is_mcp_path(path: str) -> bool:
    return path in (PATH, PATH.rstrip("/"))


async def _answer(send, status: int, code: str, message: str, headers=()) -> None:
    body = json.dumps(error_body(code, message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _header(scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def _host_allowed(host: str | None) -> bool:
    if not host:
        return False
    domain, _ = split_domain_port(host)
    return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)


def _origin_allowed(origin: str | None) -> bool:
    """No Origin (an agent, not a browser) is allowed; a browser's must be an allowed host."""
    if origin is None:
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and _host_allowed(parts.netloc)


class McpHttpApp:
    """ASGI: `/mcp/` to the MCP server, every other path to `fallback` (Django)."""

    def __init__(self, fallback) -> None:
        self.fallback = fallback
        self.manager = StreamableHTTPSessionManager(
            app=build_server(caller_of_request),
            json_response=True,
            stateless=True,
            max_request_body_size=settings.INGEST_MAX_BYTES,
        )
        self._started: asyncio.Event | None = None
        self._task: asyncio.Task | None = None

    async def _run_manager(self) -> None:
        assert self._started is not None
        async with self.manager.run():
            self._started.set()
            await asyncio.Event().wait()  # held open until the loop ends

    async def _ensure_started(self) -> None:
        if self._started is None:
            self._started = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run_manager())
        await self._started.wait()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not is_mcp_path(scope["path"]):
            await self.fallback(scope, receive, send)
            return
        if not _host_allowed(_header(scope, b"host")):
            await _answer(send, 400, "bad_request", "Host is not one of ALLOWED_HOSTS.")
            return
        if not _origin_allowed(_header(scope, b"origin")):
            await _answer(send, 403, "permission_denied", "Origin is not allowed.")
            return
        length = _header(scope, b"content-length") or "0"
        if length.isdigit() and int(length) > settings.INGEST_MAX_BYTES:
            # The API's 413 (tracking/api/limits.py); a chunked body meets the SDK's own limit.
            message = f"Body is larger than {settings.INGEST_MAX_BYTES} bytes."
            await _answer(send, 413, "payload_too_large", message)
            return
        challenge = [(b"www-authenticate", b"Bearer")]
        token = bearer_token(_header(scope, b"authorization") or "")
        if token is None:
            await _answer(
                send, 401, "not_authenticated", "Send Authorization: Bearer <key>.", challenge
            )
            return
        address = (scope.get("client") or ("unknown",))[0]
        try:
            user = await with_db(authenticate_key_from)(token, address)
        except TooManyKeyFailures as exc:
            retry = [(b"retry-after", str(exc.retry_after).encode())]
            await _answer(send, 429, "throttled", str(exc), retry)
            return
        if user is None:
            await _answer(
                send, 401, "authentication_failed", "Unknown or revoked API key.", challenge
            )
            return
        await self._ensure_started()
        scope = dict(scope, **{SCOPE_KEY: Caller(user, HTTP)})
        await self.manager.handle_request(scope, receive, send)


def with_mcp(django_app):
    """The HTTP application: MCP at `/mcp/`, Django for everything else."""
    return McpHttpApp(django_app)
