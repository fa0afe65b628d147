"""Anomalies, predictor versions and dependency passes in the admin, view-only: their only
writer is the analytics worker. Experiments and their exposures, editable."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest

from analytics.experiments.validation import arms_problem
from analytics.models import (
    DependencyPass,
    Experiment,
    ExperimentStateError,
    Exposure,
    ModelVersion,
    SkillAnomaly,
)
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


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    """Editable: the design through the form (validated by `Experiment.clean`), the status
    only through the start and stop actions (the model's draft → running → stopped)."""

    list_display = ("key", "name", "project", "status", "unit", "started_at", "stopped_at")
    list_filter = ("status", "unit", "project")
    search_fields = ("key", "name")
    readonly_fields = ("status", "started_at", "stopped_at", "assignment_rule", "created_at")
    fields = (
        "project", "key", "name", "hypothesis", "unit", "arms", "metrics", "guardrail_metrics",
        "planned_units", "status", "started_at", "stopped_at", "assignment_rule", "created_at",
    )  # fmt: skip
    actions = ("start_experiments", "stop_experiments")

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        # Once it has run, its design is what the exposures were assigned by.
        if obj is not None and obj.status != Experiment.DRAFT:
            return (*self.readonly_fields, "project", "key", "unit", "arms")
        return self.readonly_fields

    @admin.display(description="assignment rule")
    def assignment_rule(self, obj: Experiment) -> str:
        return obj.assignment_rule if obj.pk and arms_problem(obj.arms) is None else "—"

    def _transition(self, request: HttpRequest, queryset, name: str) -> None:
        done = 0
        for experiment in queryset:
            try:
                getattr(experiment, name)()
                done += 1
            except ExperimentStateError as exc:
                self.message_user(request, f"{experiment.key}: {exc}", messages.WARNING)
        if done:
            self.message_user(request, f"{name}: {done} experiment(s).", messages.SUCCESS)

    @admin.action(description="Start the selected draft experiments")
    def start_experiments(self, request: HttpRequest, queryset) -> None:
        self._transition(request, queryset, "start")

    @admin.action(description="Stop the selected running experiments")
    def stop_experiments(self, request: HttpRequest, queryset) -> None:
        self._transition(request, queryset, "stop")


@admin.register(Exposure)
class ExposureAdmin(admin.ModelAdmin):
    list_display = ("unit_id", "experiment", "arm", "first_exposed_at")
    list_filter = ("arm", "experiment")
    search_fields = ("unit_id",)


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
