import sys

from django.contrib import admin
from django.http import Http404
from django.urls import include, path
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from tracking import metrics
from tracking.api import errors

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("tracking.api.urls")),
    path("api/v1/", include("analytics.api.urls")),
    path("api/v1/", include("integrations.urls")),
    # Log in / out links of DRF's browsable API pages.
    path("api/auth/", include("rest_framework.urls")),
    path("metrics", metrics.metrics, name="prometheus-django-metrics"),
    path("", include("tracking.urls")),
    path("", include("analytics.urls")),
]


def handler404(request, exception):
    """An unknown URL under /api/ is a JSON 404; pages keep Django's HTML one."""
    if errors.is_api_path(request.path):
        return errors.api_error_for(Http404()).as_response()
    return defaults.page_not_found(request, exception)


def handler500(request):
    """Under /api/ a JSON 500 (503 when the database is down); pages keep the HTML one."""
    exc = sys.exc_info()[1]
    if errors.is_api_path(request.path):
        return errors.api_error_for(exc, request).as_response()
    if exc is not None and errors.is_database_unavailable(exc):
        # A page keeps an HTML answer, with the status and wait the API gives (templates/).
        response = defaults.server_error(request, template_name="503.html")
        response.status_code = 503
        response["Retry-After"] = str(errors.DATABASE_RETRY_AFTER_SECONDS)
        return response
    return defaults.server_error(request)
