"""The live dashboard page (its figures arrive over /ws/live/, docs/websocket-api.md) and the
experiment pages (a project's experiments, one experiment's results)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from analytics.experiments.display import displayed
from analytics.experiments.results import experiment_results
from analytics.models import Experiment
from tracking import selectors


@login_required
def live(request: HttpRequest) -> HttpResponse:
    return render(request, "analytics/live.html", {"tick_seconds": settings.LIVE_TICK_SECONDS})


@login_required
def experiment_list(request: HttpRequest, slug: str) -> HttpResponse:
    project = selectors.project_for(request.user, slug)
    experiments = Experiment.objects.filter(project=project).annotate(units=Count("exposures"))
    return render(
        request,
        "analytics/experiment_list.html",
        {"project": project, "experiments": experiments},
    )


@login_required
def experiment_detail(request: HttpRequest, slug: str, key: str) -> HttpResponse:
    project = selectors.project_for(request.user, slug)
    experiment = get_object_or_404(Experiment, project=project, key=key)
    results = displayed(experiment_results(experiment))
    return render(
        request,
        "analytics/experiment_detail.html",
        {"project": project, "experiment": experiment, "results": results},
    )
