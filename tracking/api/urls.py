from django.urls import path

from tracking.api import checkpoints, ingest, invocations, projects, sessions, uploads

urlpatterns = [
    path("ingest/invocations", ingest.IngestInvocationsApi.as_view(), name="api-ingest"),
    path("projects", projects.ProjectListApi.as_view(), name="api-projects"),
    path("projects/<slug:slug>", projects.ProjectDetailApi.as_view(), name="api-project"),
    path("sessions", sessions.SessionListApi.as_view(), name="api-sessions"),
    path("sessions/start", sessions.SessionStartApi.as_view(), name="api-session-start"),
    path("sessions/<int:pk>", sessions.SessionDetailApi.as_view(), name="api-session"),
    path("sessions/<int:pk>/end", sessions.SessionEndApi.as_view(), name="api-session-end"),
    # GET lists, POST records a CI checkpoint from uploaded artefacts.
    path("checkpoints", uploads.CheckpointListCreateApi.as_view(), name="api-checkpoints"),
    path("checkpoints/<int:pk>", checkpoints.CheckpointDetailApi.as_view(), name="api-checkpoint"),
    path("invocations", invocations.InvocationListApi.as_view(), name="api-invocations"),
]
