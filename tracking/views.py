"""The history pages: projects, a project, a session, a checkpoint and its report.md, and a
project's API keys. Login required.

Each view parses the request, calls selectors and renders; a project the user may not see is a
404, so its existence is not revealed.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from quality.report import render_markdown
from tracking import selectors
from tracking.forms import ApiKeyForm, PreferencesForm
from tracking.models import ApiKey, Preferences, Project
from tracking.panels import session_panels
from tracking.reports import report_data
from tracking.zones import site_zone_name


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
    kind = selectors.checkpoint_kind(request.GET.get("kind"))
    checkpoints = selectors.project_checkpoints(ctx["project"], kind)
    ctx.update(
        sessions=selectors.paginate(sessions, request.GET.get("page"), selectors.SESSIONS_PER_PAGE),
        checkpoints=selectors.paginate(
            checkpoints, request.GET.get("cpage"), selectors.CHECKPOINTS_PER_PAGE
        ),
        checkpoint_kind=kind,
        checkpoint_kinds=selectors.CHECKPOINT_KINDS,
        active_key_count=selectors.project_api_keys(ctx["project"])
        .filter(revoked_at__isnull=True)
        .count(),
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


def _keys_page(request: HttpRequest, project: Project, form: ApiKeyForm, status: int = 200):
    ctx = {
        "project": project,
        "is_demo": selectors.is_demo(project),
        "keys": selectors.project_api_keys(project),
        "form": form,
    }
    return render(request, "tracking/api_keys.html", ctx, status=status)


def _key_shown_once(
    request: HttpRequest, project: Project, key: ApiKey, plain: str, replaced: ApiKey | None
) -> HttpResponse:
    """The one answer that carries a key's plain text; never cached, never stored."""
    ctx = {"project": project, "key": key, "plain": plain, "replaced": replaced}
    return render(request, "tracking/api_key_created.html", ctx)


@never_cache
@login_required
def api_keys(request: HttpRequest, slug: str) -> HttpResponse:
    """A project's keys (GET) and a new one (POST); every member may manage them."""
    project = selectors.project_for(request.user, slug)
    if request.method != "POST":
        return _keys_page(request, project, ApiKeyForm())
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return _keys_page(request, project, form, status=400)
    key, plain = project.create_api_key(
        scope=form.cleaned_data["scope"], name=form.cleaned_data["name"]
    )
    return _key_shown_once(request, project, key, plain, replaced=None)


@never_cache
@login_required
@require_POST
def api_key_revoke(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    project = selectors.project_for(request.user, slug)
    key = selectors.api_key_for(project, pk)
    if key.revoke():
        messages.success(request, f"Revoked key {key.prefix}…; it no longer works.")
    else:
        messages.error(request, f"Key {key.prefix}… was revoked already.")
    return redirect(reverse("api-keys", args=[project.slug]))


@never_cache
@login_required
@require_POST
def api_key_rotate(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    project = selectors.project_for(request.user, slug)
    key = selectors.api_key_for(project, pk)
    try:
        new, plain = key.rotate()
    except ValueError:
        messages.error(request, f"Key {key.prefix}… is revoked already; it cannot be rotated.")
        return redirect(reverse("api-keys", args=[project.slug]))
    return _key_shown_once(request, project, new, plain, replaced=key)


@never_cache
@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    """The logged-in person's display zone (GET shows it, POST changes it)."""
    user_id = request.user.pk
    assert user_id is not None  # login_required
    current, _ = Preferences.objects.get_or_create(user_id=user_id)
    form = PreferencesForm(request.POST or None, instance=current, site_zone=site_zone_name())
    if request.method == "POST":
        if form.is_valid():
            form.save()
            shown = form.instance.time_zone or f"the site's zone ({site_zone_name()})"
            messages.success(request, f"Times are now shown in {shown}.")
            return redirect(reverse("preferences"))
        return render(request, "tracking/preferences.html", {"form": form}, status=400)
    return render(request, "tracking/preferences.html", {"form": form})
