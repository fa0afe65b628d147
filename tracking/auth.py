"""API-key authentication: `Authorization: Bearer <key>`, keys stored hashed per project.

Failed keys are counted per client address: after `API_KEY_FAILURE_LIMIT` unknown keys within
`API_KEY_FAILURE_WINDOW` seconds, the address is refused (429 with Retry-After) for the next
window, a right key included, so guessing keys gets nowhere. The counts live in Django's cache,
which is Redis when REDIS_URL is set (shared by every process) and process-local otherwise.
While that cache does not answer (Redis down), keys are checked without counting: an outage of
the counter must not lock out every client.
"""

from __future__ import annotations

import logging
import math
import time

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db.models import QuerySet
from django.utils import timezone
from redis.exceptions import RedisError
from rest_framework import authentication, exceptions

from tracking.models import ApiKey, Project

log = logging.getLogger(__name__)
# What Django's Redis cache raises while Redis is down.
CACHE_UNAVAILABLE = (RedisError, OSError)


class ApiKeyUser(AnonymousUser):
    """The identity behind an API key: it may see exactly one project."""

    def __init__(self, api_key: ApiKey):
        super().__init__()
        self.api_key = api_key
        self.project = api_key.project

    @property
    def is_authenticated(self) -> bool:  # type: ignore[override]
        return True

    def __str__(self) -> str:
        return f"key {self.api_key.prefix}… for {self.project.slug}"


def bearer_token(header: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class TooManyKeyFailures(Exception):
    """This address sent too many unknown keys; it may try again in `retry_after` seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"Too many failed API keys from this address; retry in {retry_after} s.")
        self.retry_after = retry_after


def _lockout_key(address: str) -> str:
    return f"cairn:api-key-lockout:{address}"


def check_key_failures(address: str, now: float | None = None) -> None:
    """Raise TooManyKeyFailures while `address` is locked out."""
    try:
        until = cache.get(_lockout_key(address))
    except CACHE_UNAVAILABLE as exc:
        log.warning("failed-key counts unavailable, not checked: %s", exc)
        return
    now = time.time() if now is None else now
    if until is not None and until > now:
        raise TooManyKeyFailures(max(1, math.ceil(until - now)))


def record_key_failure(address: str, now: float | None = None) -> int:
    """Count one unknown key from `address`; lock the address out at the limit.

    The count is kept per window (the window's number is part of the cache key) with the
    cache's atomic `incr`, so processes sharing a Redis cache count together. Returns the count
    in the current window.
    """
    now = time.time() if now is None else now
    window = settings.API_KEY_FAILURE_WINDOW
    key = f"cairn:api-key-failures:{address}:{int(now // window)}"
    try:
        cache.add(key, 0, timeout=window)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr: this failure starts the next window
            cache.set(key, 1, timeout=window)
            count = 1
        if count >= settings.API_KEY_FAILURE_LIMIT:
            cache.set(_lockout_key(address), now + window, timeout=window)
    except CACHE_UNAVAILABLE as exc:
        log.warning("failed-key counts unavailable, failure not counted: %s", exc)
        return 0
    return count


def client_address(meta: dict) -> str:
    """The client's address as the server saw it (REMOTE_ADDR).

    Behind the reverse proxy, `lib.proxy` puts the client's address there, from the proxy's
    X-Forwarded-For only; the header is never read here, since any client can send one.
    """
    return str(meta.get("REMOTE_ADDR") or "unknown")


def authenticate_key_from(plain: str, address: str) -> ApiKeyUser | None:
    """`authenticate_key`, refused while `address` is locked out, counting an unknown key."""
    check_key_failures(address)
    user = authenticate_key(plain)
    if user is None:
        record_key_failure(address)
    return user


def authenticate_key(plain: str) -> ApiKeyUser | None:
    """The user for an API key's plain text, or None when no active key matches."""
    key = ApiKey.lookup(plain)
    if key is None:
        return None
    # Write last-used at most once a minute: ingest is hot and this would be a write per request.
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return ApiKeyUser(key)


def visible_projects(user) -> QuerySet[Project]:
    """Projects this user may see: the key's own project, or the user's memberships."""
    if isinstance(user, ApiKeyUser):
        return Project.objects.filter(pk=user.project.pk)
    if user.is_authenticated:
        if user.is_superuser:
            return Project.objects.all()
        return Project.objects.filter(members=user)
    return Project.objects.none()


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        token = bearer_token(header)
        if token is None:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <key>'.")
        try:
            user = authenticate_key_from(token, client_address(request.META))
        except TooManyKeyFailures as exc:
            raise exceptions.Throttled(wait=exc.retry_after, detail=str(exc)) from None
        if user is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
        return user, user.api_key

    def authenticate_header(self, request) -> str:
        return self.keyword


class LoginLockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check for logins from a client (settings: LOGIN_FAILURE_LIMIT).

    A login with no request (a management command, `Client.login` in tests) comes from no
    client address, so there is nothing to lock out: it is left to the next backend, where
    django-axes would refuse it outright.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
