import sys

from django.contrib import admin
from django.http import Http404
from django.urls import URLPattern, include, path
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView

import analytics.api.urls
import integrations.urls
import tracking.api.urls
from tracking import metrics
from tracking.api import errors
from tracking.api.docs import CairnRedocView
from tracking.api.root import ApiRootApi


def with_trailing_slash(patterns: list) -> list:
    """Each API route, plus the same route with a trailing slash answered by the same view.

    Both forms are answered rather than one redirected: a client's POST or DELETE does not
    survive a redirect. The aliases have no name (reverse() gives the canonical form) and the
    schema leaves them out (`tracking.api.schema.without_trailing_slash_aliases`).
    """
    aliases = [
        path(f"{p.pattern}/", p.callback, p.default_args)
        for p in patterns
        if isinstance(p, URLPattern)
    ]
    return [*patterns, *aliases]


API_V1 = with_trailing_slash(
    [
        *tracking.api.urls.urlpatterns,
        *analytics.api.urls.urlpatterns,
        *integrations.urls.urlpatterns,
    ]
)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", CairnRedocView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", ApiRootApi.as_view(), name="api-root"),
    path("api/v1", ApiRootApi.as_view()),
    path("api/v1/", include(API_V1)),
    # Log in / out links of DRF's browsable API pages.
    path("api/auth/", include("rest_framework.urls")),
    path("metrics", metrics.metrics, name="prometheus-django-metrics"),
    # Claude Code's OpenTelemetry export (integrations/otlp/).
    path("otlp/", include("integrations.otlp.urls")),
    path("", include("tracking.urls")),
    path("", include("analytics.urls")),
    path("", include("integrations.page_urls")),
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
