from django.urls import path

from integrations.otlp.views import OtlpExportApi, OtlpLogsApi

# Included under /otlp/ by config/urls.py: the OTLP exporter appends /v1/metrics and /v1/logs.
urlpatterns = [
    path("v1/metrics", OtlpExportApi.as_view(), name="otlp-metrics"),
    path("v1/logs", OtlpLogsApi.as_view(), name="otlp-logs"),
]
