from django.urls import path

from analytics import views

urlpatterns = [
    path("live/", views.live, name="live"),
    path("anomalies/", views.anomaly_list, name="anomaly-list"),
    path("p/<slug:slug>/skills/", views.project_skills, name="project-skills"),
    # A skill's name may hold "/": the path runs to the last "/" of the address.
    path("p/<slug:slug>/skills/<path:skill>/", views.skill_detail, name="skill-detail"),
    path("p/<slug:slug>/session-patterns/", views.session_patterns, name="session-patterns"),
    path("p/<slug:slug>/experiments/", views.experiment_list, name="experiment-list"),
    path(
        "p/<slug:slug>/experiments/<slug:key>/",
        views.experiment_detail,
        name="experiment-detail",
    ),
]
