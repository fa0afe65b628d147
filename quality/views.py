"""`report.md`: a checkpoint's report as a Markdown download (same visibility as its page)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse

from quality.report import render_markdown, report_data
from tracking import selectors


@login_required
def checkpoint_report_md(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    project = selectors.project_for(request.user, slug)
    checkpoint = selectors.checkpoint_for(project, pk)
    response = HttpResponse(
        render_markdown(report_data(checkpoint)), content_type="text/markdown; charset=utf-8"
    )
    filename = f"{project.slug}-checkpoint-{checkpoint.pk}.md"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
