"""The project's URLs plus views under /api/ that fail the way a bug would (test_api_errors)."""

from __future__ import annotations

from django.urls import include, path
from rest_framework.decorators import api_view, authentication_classes, permission_classes

from config import urls as project_urls

handler404 = getattr(project_urls, "handler404", "django.views.defaults.page_not_found")
handler500 = getattr(project_urls, "handler500", "django.views.defaults.server_error")

SECRET = "password=hunter2 at /srv/cairn/secret.py line 12"


@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
def drf_bug(request):
    raise RuntimeError(SECRET)


def django_bug(request):
    raise KeyError(SECRET)


def page_bug(request):
    raise RuntimeError(SECRET)


urlpatterns = [
    path("api/v1/test-drf-bug", drf_bug),
    path("api/v1/test-django-bug", django_bug),
    path("test-page-bug", page_bug),
    path("", include("config.urls")),
]
