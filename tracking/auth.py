"""API-key authentication: `Authorization: Bearer <key>`, keys stored hashed per project."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import authentication, exceptions

from tracking.models import ApiKey, Project


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
        user = authenticate_key(token)
        if user is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
        return user, user.api_key

    def authenticate_header(self, request) -> str:
        return self.keyword
