from django.urls import path

from tracking import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
]
