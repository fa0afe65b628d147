from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from tracking.auth import ApiKeyUser


class HasWriteKey(BasePermission):
    """Only a write API key may send data; a read-only key is refused with 403."""

    message = "A write API key is required; this one is read-only or not a key."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not isinstance(user, ApiKeyUser):
            return False
        return user.api_key.can_write


class ReadOnlyKeyForSafeMethods(BasePermission):
    """Any authenticated identity may read; writing with a key needs a write key."""

    message = "This API key is read-only."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if request.method in SAFE_METHODS or not isinstance(user, ApiKeyUser):
            return True
        return user.api_key.can_write
