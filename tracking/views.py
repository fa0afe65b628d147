"""The history pages: projects, a project, a session, a checkpoint and its report.md. Login
required.

Each view parses the request, calls selectors and renders; a project the user may not see is a
404, so its existence is not revealed.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from quality.report import render_markdown
from tracking import selectors
from tracking.panels import session_panels
from tracking.reports import report_data


def _project_context(request: HttpRequest, slug: str) -> dict:
    project = selectors.project_for(request.user, slug)
    return {"project": project, "is_demo": selectors.is_demo(project)}


@login_required
def project_list(request: HttpRequest) -> HttpResponse:
    projects = selectors.project_list(request.user)
    return render(request, "tracking/project_list.html", {"projects": projects})


@login_required
def project_detail(request: HttpRequest, slug: str) -> HttpResponse:
    ctx = _project_context(request, slug)
    sessions = selectors.sessions_with_scores(ctx["project"])
    points = selectors.score_points(ctx["project"])
    ctx.update(
        sessions=selectors.paginate(sessions, request.GET.get("page"), selectors.SESSIONS_PER_PAGE),
        score_points=points,
        chart=selectors.score_chart_data(points),
    )
    return render(request, "tracking/project_detail.html", ctx)


@login_required
def session_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    ctx = _project_context(request, slug)
    session = selectors.session_for(ctx["project"], pk)
    ctx.update(
        session=session,
        tokens=selectors.session_tokens(session),
        outcomes=selectors.session_outcomes(session),
        timeline=selectors.session_timeline(session, request.GET.get("page")),
        panels=session_panels(session),
    )
    return render(request, "tracking/session_detail.html", ctx)


@login_required
def checkpoint_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    ctx = _project_context(request, slug)
    checkpoint = selectors.checkpoint_for(ctx["project"], pk)
    ctx.update(
        checkpoint=checkpoint,
        measurements=selectors.checkpoint_measurements(checkpoint),
    )
    return render(request, "tracking/checkpoint_detail.html", ctx)


@login_required
def checkpoint_report_md(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """The checkpoint's report as a Markdown download (same visibility as its page)."""
    project = selectors.project_for(request.user, slug)
    checkpoint = selectors.checkpoint_for(project, pk)
    response = HttpResponse(
        render_markdown(report_data(checkpoint)), content_type="text/markdown; charset=utf-8"
    )
    filename = f"{project.slug}-checkpoint-{checkpoint.pk}.md"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
