"""What a project's owner types into GitHub or GitLab to send Cairn its CI webhooks."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse

from integrations.ci.models import GITHUB, GITLAB
from tracking.models import Project


@dataclass(frozen=True)
class Setup:
    provider: str
    title: str
    url: str
    content_type: str
    field_name: str
    events: tuple[str, ...]
    where: str


def webhook_url(project: Project, provider: str, base: str = "") -> str:
    """The payload URL (absolute when `base`, else CAIRN_BASE_URL when set, else a path)."""
    path = reverse(f"api-webhooks-{provider}", args=[project.slug])
    return (base or getattr(settings, "CAIRN_BASE_URL", "")).rstrip("/") + path


def instructions(project: Project, base: str = "") -> list[Setup]:
    """Both providers' setup, in the words of their settings pages."""
    return [
        Setup(
            provider=GITHUB,
            title="GitHub",
            url=webhook_url(project, GITHUB, base),
            content_type="application/json",
            field_name="Secret",
            events=("Workflow runs", "Workflow jobs"),
            where="Repository → Settings → Webhooks → Add webhook; “Let me select individual "
            "events”.",
        ),
        Setup(
            provider=GITLAB,
            title="GitLab",
            url=webhook_url(project, GITLAB, base),
            content_type="application/json (GitLab always sends JSON)",
            field_name="Secret token",
            events=("Pipeline events", "Job events"),
            where="Project → Settings → Webhooks → Add new webhook.",
        ),
    ]
