"""Anomalies in the admin, view-only: their only writer is the analytics worker."""

from __future__ import annotations

from django.contrib import admin

from analytics.models import SkillAnomaly
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
