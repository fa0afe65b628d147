"""What the caller of an API request may see: one key's project, or a user's memberships."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework.exceptions import NotFound

from tracking.auth import visible_projects
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
