from django.urls import path

from tracking.api import ingest

urlpatterns = [
    path("ingest/invocations", ingest.IngestInvocationsApi.as_view(), name="api-ingest"),
]
