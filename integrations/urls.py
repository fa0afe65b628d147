from django.urls import path

from integrations.api import ClaudeCodeHookApi
from integrations.ci.api import PipelinesApi
from integrations.ci.webhooks import GitHubWebhookApi, GitLabWebhookApi
from integrations.crackerjack.api import CrackerjackRunApi
from integrations.ide.api import IdeSuggestionsApi

# Included under /api/v1/ by config/urls.py.
urlpatterns = [
    path("hooks/claude-code", ClaudeCodeHookApi.as_view(), name="api-hooks-claude-code"),
    path("webhooks/github/<slug:project>", GitHubWebhookApi.as_view(), name="api-webhooks-github"),
    path("webhooks/gitlab/<slug:project>", GitLabWebhookApi.as_view(), name="api-webhooks-gitlab"),
    path("pipelines", PipelinesApi.as_view(), name="api-pipelines"),
    path("crackerjack/runs", CrackerjackRunApi.as_view(), name="api-crackerjack-runs"),
    path("ide/suggestions", IdeSuggestionsApi.as_view(), name="api-ide-suggestions"),
]
