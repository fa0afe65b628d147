"""What the caller of an API request may see: one key's project, or a user's memberships."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework.exceptions import NotFound, ValidationError

from tracking.auth import ApiKeyUser, visible_projects
from tracking.models import Project, Session


def project_or_404(user, slug: str) -> Project:
    """The visible project with this slug; 404 alike for unknown and invisible ones."""
    project = visible_projects(user).filter(slug=slug).first()
    if project is None:
        raise NotFound(f"No project {slug!r}.")
    return project


def session_or_404(user, pk: int) -> Session:
    """The visible session with this id; 404 alike for unknown and invisible ones."""
    session = visible(Session.objects.select_related("project"), user).filter(pk=pk).first()
    if session is None:
        raise NotFound(f"No session {pk}.")
    return session


def visible(queryset: QuerySet, user) -> QuerySet:
    """Rows of `queryset` (a model with a `project`) in projects the user may see."""
    return queryset.filter(project__in=visible_projects(user))


def filtered(queryset: QuerySet, user, given: dict, lookups: dict[str, str]) -> QuerySet:
    """The visible rows of `queryset` narrowed by the validated filters that were given.

    `project` (a slug) and `session` (an id) must themselves be visible, else 404; every other
    filter name maps to its ORM lookup in `lookups`, e.g. {"since": "invoked_at__gte"}.
    """
    queryset = visible(queryset, user)
    if "project" in given:
        queryset = queryset.filter(project=project_or_404(user, given["project"]))
    if "session" in given:
        queryset = queryset.filter(session=session_or_404(user, given["session"]))
    for name, lookup in lookups.items():
        if name in given:
            queryset = queryset.filter(**{lookup: given[name]})
    return queryset


def write_project(user, slug: str | None) -> Project:
    """The project a write goes to: a key's own, or the member user's project named in the body."""
    if slug is None:
        if isinstance(user, ApiKeyUser):
            return user.project
        raise ValidationError({"project": ["Required when not using an API key."]})
    return project_or_404(user, slug)
