from django.contrib.auth import views as auth_views
from django.urls import path

from tracking import health, views

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.project_list, name="project-list"),
    path("p/<slug:slug>/", views.project_detail, name="project-detail"),
    path("p/<slug:slug>/s/<int:pk>/", views.session_detail, name="session-detail"),
    path("p/<slug:slug>/c/<int:pk>/", views.checkpoint_detail, name="checkpoint-detail"),
    path(
        "p/<slug:slug>/c/<int:pk>/report.md",
        views.checkpoint_report_md,
        name="checkpoint-report-md",
    ),
]
