"""Anomalies, predictor versions and dependency passes in the admin, view-only: their only
writer is the analytics worker."""

from __future__ import annotations

from django.contrib import admin

from analytics.models import DependencyPass, ModelVersion, SkillAnomaly
from tracking.admin import ReadOnlyAdminMixin


@admin.register(SkillAnomaly)
class SkillAnomalyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "skill",
        "project",
        "metric",
        "anomaly_type",
        "status",
        "opened_at",
        "last_seen_at",
        "resolved_at",
        "p_value",
        "q_value",
        "deviation_score",
        "evaluations",
    )
    list_filter = ("status", "metric", "anomaly_type", "project")
    search_fields = ("skill",)
    date_hierarchy = "opened_at"


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Written by the worker's training step; the artefact's bytes are not shown."""

    list_display = (
        "id",
        "project",
        "created_at",
        "is_active",
        "n_decided",
        "auc",
        "auc_ci_low",
        "brier",
        "brier_baseline",
        "reason",
    )
    list_filter = ("is_active", "project")
    exclude = ("artifact",)


@admin.register(DependencyPass)
class DependencyPassAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("project", "days", "window_start", "window_end", "n_sessions", "pairs_tested")
    list_filter = ("project",)
