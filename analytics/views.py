"""The live dashboard page; its figures arrive over /ws/live/ (docs/websocket-api.md)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def live(request: HttpRequest) -> HttpResponse:
    return render(request, "analytics/live.html", {"tick_seconds": settings.LIVE_TICK_SECONDS})
