"""The integrations' pages of a project: CI webhook settings, and pipeline analytics.

Like the keys page, every member of the project (and every superuser) may manage its webhook
secrets: Cairn has no owner role. A project the user may not see is a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from integrations.ci.analytics import pipeline_analytics
from integrations.ci.models import PROVIDERS, WebhookDelivery, WebhookSecret
from integrations.ci.setup import instructions
from tracking import selectors


@never_cache
@login_required
def integration_settings(request: HttpRequest, slug: str) -> HttpResponse:
    """The project's webhook secrets (shown, as `manage.py webhook_secret` prints them) and
    what to type into GitHub and GitLab."""
    project = selectors.project_for(request.user, slug)
    secrets = {row.provider: row for row in WebhookSecret.objects.filter(project=project)}
    base = request.build_absolute_uri("/").rstrip("/")
    setups = [(setup, secrets.get(setup.provider)) for setup in instructions(project, base)]
    recent = WebhookDelivery.objects.filter(project=project).order_by("-received_at")[:20]
    ctx = {
        "project": project,
        "is_demo": selectors.is_demo(project),
        "setups": setups,
        "deliveries": recent,
    }
    return render(request, "integrations/settings.html", ctx)


@never_cache
@login_required
@require_POST
def webhook_secret_change(request: HttpRequest, slug: str, provider: str) -> HttpResponse:
    """Create the provider's secret, or rotate it (the old one stops working at once)."""
    project = selectors.project_for(request.user, slug)
    if provider not in dict(PROVIDERS):
        messages.error(request, f"Unknown provider {provider!r}.")
        return redirect(reverse("integration-settings", args=[project.slug]))
    existed = WebhookSecret.objects.filter(project=project, provider=provider).exists()
    WebhookSecret.of(project, provider, rotate=existed)
    name = dict(PROVIDERS)[provider]
    if existed:
        messages.success(request, f"Rotated the {name} secret: update it in {name} now.")
    else:
        messages.success(request, f"Created the {name} secret.")
    return redirect(reverse("integration-settings", args=[project.slug]) + f"#{provider}")


@login_required
def pipelines(request: HttpRequest, slug: str) -> HttpResponse:
    """Pipeline analytics: stages and jobs, bottlenecks, flaky jobs, run durations."""
    project = selectors.project_for(request.user, slug)
    days = _days(request.GET.get("days"))
    ctx = {
        "project": project,
        "is_demo": selectors.is_demo(project),
        "report": pipeline_analytics(project, days=days),
        "days": days,
    }
    return render(request, "integrations/pipelines.html", ctx)


def _days(value: str | None) -> int:
    if value and value.isdigit() and 1 <= int(value) <= 365:
        return int(value)
    return 30
