"""A project merge deletes both projects' dependency passes, predictor versions and stored
recommendation matrices."""

from __future__ import annotations

from datetime import timedelta

from analytics.dependencies import refresh_dependencies
from analytics.models import DependencyPass, ModelVersion, UsagePass, UserSkillUse
from analytics.predictor.training import maybe_retrain
from analytics.recommendations import refresh_usage
from tests.analytics.conftest import at, events
from tracking.merging import merge_projects
from tracking.models import SkillInvocation

AT = at("2026-11-25T10:00:00")


def test_merging_projects_with_passes_and_versions_deletes_them_to_be_recomputed(
    project, other_project
):
    events(project, ("pytest", AT - timedelta(days=1), True, 1.0), session="a")
    events(other_project, ("ruff", AT - timedelta(days=2), False, 1.0), session="b")
    assert refresh_dependencies(AT) == (2, 0) and maybe_retrain(AT) == (2, 0)
    assert refresh_usage(AT) == (2, 0)
    moved = merge_projects(project, other_project)
    assert "analytics.DependencyPass" not in moved and "analytics.ModelVersion" not in moved
    assert not DependencyPass.objects.exists() and not ModelVersion.objects.exists()
    assert not UsagePass.objects.exists() and not UserSkillUse.objects.exists()
    assert SkillInvocation.objects.filter(project=project).count() == 2
    # The worker computes the merged project's figures again on its next run.
    assert refresh_dependencies(AT) == (1, 0) and maybe_retrain(AT) == (1, 0)
    assert DependencyPass.objects.get(project=project).n_sessions == 2
    assert ModelVersion.objects.get(project=project).n_decided == 2
