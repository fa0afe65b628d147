"""The display zone of a request: the person's own (Preferences.time_zone) when they are logged
in and chose one, otherwise the site's `CAIRN_DISPLAY_TZ`. Every page, the admin, the charts
(`<html data-tz>`) and the session-stats API read the zone Django has active for the request."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from tracking.models import Preferences


def site_zone_name() -> str:
    """The site's display zone: `CAIRN_DISPLAY_TZ` (default UTC)."""
    return str(getattr(settings, "CAIRN_DISPLAY_TZ", "") or "UTC")


def zone_name_for(user) -> str:
    """The zone a user's pages show times in."""
    if getattr(user, "is_authenticated", False) and isinstance(getattr(user, "pk", None), int):
        chosen = (
            Preferences.objects.filter(user_id=user.pk).values_list("time_zone", flat=True).first()
        )
        if chosen:
            return chosen
    return site_zone_name()


class DisplayZoneMiddleware:
    """Activates the request's display zone for everything that renders a time in it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        timezone.activate(ZoneInfo(zone_name_for(getattr(request, "user", None))))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
