from django.urls import path

from analytics.api import anomalies, skills

urlpatterns = [
    path(
        "projects/<slug:slug>/skills",
        skills.ProjectSkillStatsApi.as_view(),
        name="api-project-skills",
    ),
    path("skills", skills.SkillStatsApi.as_view(), name="api-skills"),
    path("anomalies", anomalies.AnomalyListApi.as_view(), name="api-anomalies"),
]
