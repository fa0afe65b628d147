"""`/healthz`: a real query against each backing service.

The body names what failed with a fixed message; the exception itself (which may carry host
names, ports, user names or driver internals) goes to the log only.
"""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

logger = logging.getLogger(__name__)

# What the body says about a failed check: the service, never the exception's text.
MESSAGES = {
    "database": "The database did not answer a query.",
    "redis": "The channel layer (Redis) did not answer PING.",
}


def check_database() -> str | None:
    """None when the database answers a query, else the error (for the log)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"
        return f"{type(exc).__name__}: {exc}"
    return None


async def _ping_redis(url: str) -> None:
    import redis.asyncio as redis

    client = redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        await asyncio.wait_for(client.ping(), timeout=3)
    finally:
        await client.aclose()


def check_redis() -> str | None:
    """None when Redis answers PING (or is not configured), else the error (for the log)."""
    if not settings.REDIS_URL:
        return None
    try:
        async_to_sync(_ping_redis)(settings.REDIS_URL)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@never_cache
def healthz(request):
    checks = {"database": check_database()}
    if settings.REDIS_URL:
        checks["redis"] = check_redis()
    failed = {name: error for name, error in checks.items() if error}
    for name, error in failed.items():
        logger.warning("healthz: %s failed: %s", name, error)
    body = {
        "status": "fail" if failed else "ok",
        "checks": {name: ("fail" if error else "ok") for name, error in checks.items()},
    }
    if failed:
        body["errors"] = {name: MESSAGES[name] for name in failed}
    return JsonResponse(body, status=503 if failed else 200)
