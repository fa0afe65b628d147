"""WebSocket authentication: a Django session cookie (browsers) or an API key.

The key comes from `Authorization: Bearer <key>` or `?token=<key>` (browsers cannot set headers
on a WebSocket). The scope's `user` is then an ApiKeyUser limited to that key's project.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async

from tracking.auth import TooManyKeyFailures, authenticate_key_from, bearer_token


def _token_from_scope(scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            return bearer_token(value.decode("latin-1"))
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    tokens = query.get("token")
    return tokens[0] if tokens else None


class _ApiKeyMiddleware:
    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        token = _token_from_scope(scope)
        if token:
            address = (scope.get("client") or ["unknown"])[0]
            try:
                user = await database_sync_to_async(authenticate_key_from)(token, address)
            except TooManyKeyFailures:
                user = None  # locked out: refused like an unknown key, and not looked up
            scope = dict(scope, api_key_rejected=user is None)
            if user is not None:
                scope["user"] = user
        return await self.inner(scope, receive, send)


def ApiKeyOrSessionAuthMiddleware(inner):  # noqa: N802 - named like the Channels stacks
    """Session auth first; a valid API key then takes precedence."""
    return AuthMiddlewareStack(_ApiKeyMiddleware(inner))
