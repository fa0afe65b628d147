from django.urls import path

from integrations.api import ClaudeCodeHookApi

# Included under /api/v1/ by config/urls.py.
urlpatterns = [
    path("hooks/claude-code", ClaudeCodeHookApi.as_view(), name="api-hooks-claude-code"),
]
