from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("tracking.api.urls")),
    path("api/v1/", include("analytics.api.urls")),
    path("api/v1/", include("integrations.urls")),
    # Log in / out links of DRF's browsable API pages.
    path("api/auth/", include("rest_framework.urls")),
    path("", include("django_prometheus.urls")),
    path("", include("tracking.urls")),
    path("", include("analytics.urls")),
]
