"""The integrations' pages, included at the site root by config/urls.py."""

from django.urls import path

from integrations import views

urlpatterns = [
    path("p/<slug:slug>/integrations/", views.integration_settings, name="integration-settings"),
    path(
        "p/<slug:slug>/integrations/<str:provider>/secret",
        views.webhook_secret_change,
        name="webhook-secret-change",
    ),
    path("p/<slug:slug>/pipelines/", views.pipelines, name="pipelines"),
]
