from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import path
from django.views.generic import RedirectView

from tracking import health, views

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    # Browsers ask for /favicon.ico whatever the page links; send them to the SVG one.
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg")), name="favicon"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.project_list, name="project-list"),
    path("preferences/", views.preferences, name="preferences"),
    path("p/<slug:slug>/", views.project_detail, name="project-detail"),
    path("p/<slug:slug>/keys/", views.api_keys, name="api-keys"),
    path("p/<slug:slug>/keys/<int:pk>/revoke", views.api_key_revoke, name="api-key-revoke"),
    path("p/<slug:slug>/keys/<int:pk>/rotate", views.api_key_rotate, name="api-key-rotate"),
    path("p/<slug:slug>/s/<int:pk>/", views.session_detail, name="session-detail"),
    path("p/<slug:slug>/c/<int:pk>/", views.checkpoint_detail, name="checkpoint-detail"),
    path(
        "p/<slug:slug>/c/<int:pk>/report.md",
        views.checkpoint_report_md,
        name="checkpoint-report-md",
    ),
]
