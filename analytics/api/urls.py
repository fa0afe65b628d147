from django.urls import path

from analytics.api import (
    anomalies,
    dependencies,
    experiments,
    predictor,
    recommendations,
    session_stats,
    skills,
    trends,
)

urlpatterns = [
    path(
        "projects/<slug:slug>/skills",
        skills.ProjectSkillStatsApi.as_view(),
        name="api-project-skills",
    ),
    path(
        "projects/<slug:slug>/session-stats",
        session_stats.SessionStatsApi.as_view(),
        name="api-project-session-stats",
    ),
    path("skills", skills.SkillStatsApi.as_view(), name="api-skills"),
    path("skills/<path:skill>/trend", trends.SkillTrendApi.as_view(), name="api-skill-trend"),
    path("anomalies", anomalies.AnomalyListApi.as_view(), name="api-anomalies"),
    path("experiments", experiments.ExperimentListApi.as_view(), name="api-experiments"),
    path(
        "experiments/<slug:key>", experiments.ExperimentDetailApi.as_view(), name="api-experiment"
    ),
    path(
        "experiments/<slug:key>/start",
        experiments.ExperimentStartApi.as_view(),
        name="api-experiment-start",
    ),
    path(
        "experiments/<slug:key>/stop",
        experiments.ExperimentStopApi.as_view(),
        name="api-experiment-stop",
    ),
    path(
        "experiments/<slug:key>/results",
        experiments.ExperimentResultsApi.as_view(),
        name="api-experiment-results",
    ),
    path(
        "experiments/<slug:key>/assignment",
        experiments.ExperimentAssignmentApi.as_view(),
        name="api-experiment-assignment",
    ),
    path(
        "skills/<path:skill>/related",
        dependencies.RelatedSkillsApi.as_view(),
        name="api-skill-related",
    ),
    path(
        "recommendations",
        recommendations.RecommendationsApi.as_view(),
        name="api-recommendations",
    ),
    path("predictor", predictor.PredictorApi.as_view(), name="api-predictor"),
    path("predictor/predict", predictor.PredictApi.as_view(), name="api-predictor-predict"),
]
