"""The admin as an operator console: annotated columns, filters, search and inlines for browsing.

The event log (SkillInvocation) and the rollups are read-only here: events are append-only and
the rollups are only ever written by `tracking.ingest`, in the same transaction as the events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest

from lib.formatting import DASH, duration, figure, hour_text, number, usd
from tracking.merging import MergeRefused, merge_projects, rename_project
from tracking.models import (
    ApiKey,
    Checkpoint,
    Measurement,
    Preferences,
    Project,
    Session,
    SkillHourly,
    SkillInvocation,
)

if TYPE_CHECKING:
    # Types of the rows the get_queryset methods below annotate with their counts.
    from django_stubs_ext import WithAnnotations


class _SessionCount(TypedDict):
    n_sessions: int


class _CheckpointCount(TypedDict):
    n_checkpoints: int


class _MeasuredCount(TypedDict):
    n_measured: int


class ReadOnlyAdminMixin:
    """View-only: no add, change or delete, for data whose only writer is the ingest code."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class MeasuredAdminMixin:
    """View and delete only: a checkpoint's figures come from measurements with their sources,
    so nobody types one in or edits it; a correction is a new checkpoint that measures again."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    # The hash is never shown; keys are created with `createproject` or the API, not here.
    fields = ("prefix", "name", "scope", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "scope", "created_at", "last_used_at")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ProjectActionForm(ActionForm):
    """The project list's action bar, with what the merge and rename actions need."""

    into = forms.CharField(
        required=False,
        label="Into (slug)",
        help_text="Merge: the project that keeps everything; the other selected ones go.",
    )
    new_name = forms.CharField(required=False, label="New name", max_length=200)


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    action_form = ProjectActionForm
    actions = ["merge_selected", "rename_selected"]
    list_display = (
        "name",
        "slug",
        "repository_url",
        "default_branch",
        "session_count",
        "created_at",
    )
    search_fields = ("name", "slug", "repository_url")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("members",)
    date_hierarchy = "created_at"
    inlines = [ApiKeyInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(n_sessions=Count("sessions"))

    @admin.display(description="sessions", ordering="n_sessions")
    def session_count(self, obj: WithAnnotations[Project, _SessionCount]) -> int:
        return obj.n_sessions

    @admin.action(
        description="Merge the selected projects into one (give its slug in 'Into')",
        permissions=["delete"],
    )
    def merge_selected(self, request: HttpRequest, queryset: QuerySet[Project]) -> None:
        slug = request.POST.get("into", "").strip()
        target = Project.objects.filter(slug=slug).first()
        if target is None:
            self.message_user(
                request,
                f"No project with slug '{slug}': say in 'Into' which project keeps everything.",
                messages.ERROR,
            )
            return
        for source in queryset.exclude(pk=target.pk).order_by("slug"):
            name = source.slug
            try:
                merge_projects(target, source)
            except MergeRefused as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"Merged '{name}' into '{target.slug}'.")

    @admin.action(
        description="Rename the selected project (give the name in 'New name')",
        permissions=["change"],
    )
    def rename_selected(self, request: HttpRequest, queryset: QuerySet[Project]) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one project to rename.", messages.ERROR)
            return
        project = queryset.get()
        old = project.slug
        try:
            rename_project(project, request.POST.get("new_name", ""))
        except ValueError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(request, f"Renamed '{old}' to '{project.name}' ({project.slug}).")


class CheckpointInline(admin.TabularInline):
    model = Checkpoint
    fields = ("created_at", "kind", "commit", "score_total", "stars", "gate_verdict", "debt_level")
    readonly_fields = fields
    show_change_link = True
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = (
        "short_id",
        "project",
        "user_name",
        "branch",
        "status",
        "started_at",
        "duration_text",
        "checkpoint_count",
        "total_tokens",
        "cost",
    )
    list_display_links = ("short_id",)
    list_filter = ("status", "agent", "project")
    search_fields = ("external_id", "user_name", "host", "branch", "start_commit", "end_commit")
    date_hierarchy = "started_at"
    list_select_related = ("project",)
    raw_id_fields = ("project", "parent")
    inlines = [CheckpointInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(n_checkpoints=Count("checkpoints"))

    @admin.display(description="checkpoints", ordering="n_checkpoints")
    def checkpoint_count(self, obj: WithAnnotations[Session, _CheckpointCount]) -> int:
        return obj.n_checkpoints

    @admin.display(description="session", ordering="external_id")
    def short_id(self, obj: Session) -> str:
        return obj.external_id[:12]

    @admin.display(description="duration")
    def duration_text(self, obj: Session) -> str:
        return duration(obj.duration)

    @admin.display(description="tokens")
    def total_tokens(self, obj: Session) -> str:
        return number(obj.total_tokens)

    @admin.display(description="cost (USD)", ordering="cost_usd")
    def cost(self, obj: Session) -> str:
        return usd(obj.cost_usd, symbol=False)


class MeasurementInline(admin.TabularInline):
    # Measurements are what a tool reported: shown, not edited, so the report stays traceable.
    model = Measurement
    fields = ("key", "value", "unit", "tool", "tool_version", "artefact", "measured_at", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Checkpoint)
class CheckpointAdmin(MeasuredAdminMixin, admin.ModelAdmin):
    list_display = (
        "__str__",
        "project",
        "session",
        "kind",
        "created_at",
        "branch",
        "short_commit",
        "score_total",
        "stars",
        "gate_verdict",
        "debt_level",
        "measured_count",
    )
    list_filter = ("kind", "gate_verdict", "label", "debt_level", "project")
    search_fields = ("commit", "branch", "session__external_id", "project__slug")
    date_hierarchy = "created_at"
    list_select_related = ("project", "session")
    raw_id_fields = ("project", "session")
    inlines = [MeasurementInline]
    fieldsets = [
        (None, {"fields": ["project", "session", "kind", "created_at"]}),
        ("Code", {"fields": ["commit", "branch", "dirty"]}),
        (
            "Quality Score V2",
            {
                "fields": [
                    ("score_total", "points_measured", "stars", "label"),
                    ("score_code_quality", "score_project_health"),
                    ("score_dev_velocity", "score_security"),
                ]
            },
        ),
        (
            "Gate and debt",
            {"fields": ["gate_verdict", "gate_results", "debt_level", "debt_minutes"]},
        ),
        ("Recommendations", {"fields": ["recommendations"], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(n_measured=Count("measurements", filter=Q(measurements__value__isnull=False)))
        )

    @admin.display(description="commit", ordering="commit")
    def short_commit(self, obj: Checkpoint) -> str:
        return obj.commit[:10]

    @admin.display(description="measured", ordering="n_measured")
    def measured_count(self, obj: WithAnnotations[Checkpoint, _MeasuredCount]) -> int:
        return obj.n_measured


@admin.register(Measurement)
class MeasurementAdmin(MeasuredAdminMixin, admin.ModelAdmin):
    list_display = (
        "key",
        "value_or_reason",
        "unit",
        "tool",
        "tool_version",
        "checkpoint",
        "measured_at",
    )
    list_filter = ("key", "tool", "unit")
    search_fields = ("key", "tool", "artefact", "reason")
    date_hierarchy = "measured_at"
    list_select_related = ("checkpoint",)
    raw_id_fields = ("checkpoint",)

    @admin.display(description="value", ordering="value")
    def value_or_reason(self, obj: Measurement) -> str:
        if obj.value is None:
            return f"not measured: {obj.reason}"[:80]
        # As measured: ":g" would show 1,116,507,719 bytes as "1.11651e+09".
        return figure(obj.value, decimals="all")


@admin.register(SkillInvocation)
class SkillInvocationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "skill",
        "project",
        "session",
        "invoked_at",
        "completed",
        "duration_s",
        "phase",
        "error_type",
        "source",
    )
    list_filter = ("source", "completed", "phase", "project")
    search_fields = ("skill", "idempotency_key", "error_type", "session__external_id")
    date_hierarchy = "invoked_at"
    list_select_related = ("project", "session")
    raw_id_fields = ("project", "session")
    # Counting millions of events for the paginator would make every page slow.
    show_full_result_count = False


@admin.register(SkillHourly)
class SkillHourlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "skill",
        "project",
        "hour_utc",
        "invocations",
        "completed",
        "failed",
        "rate",
        "mean_duration",
        "unique_sessions",
    )
    list_filter = ("project",)
    search_fields = ("skill",)
    date_hierarchy = "hour"
    ordering = ("-hour", "skill")
    list_select_related = ("project",)
    show_full_result_count = False

    @admin.display(description="hour (UTC)", ordering="hour")
    def hour_utc(self, obj: SkillHourly) -> str:
        return hour_text(obj.hour)

    @admin.display(description="completion rate")
    def rate(self, obj: SkillHourly) -> str:
        rate = obj.completion_rate
        return number(rate, 2, grouping=False, missing=DASH)

    @admin.display(description="mean duration (s)")
    def mean_duration(self, obj: SkillHourly) -> str:
        if not obj.duration_count:
            return DASH
        return number(obj.duration_sum / obj.duration_count, 2, grouping=False)


@admin.register(Preferences)
class PreferencesAdmin(admin.ModelAdmin):
    list_display = ["user", "time_zone"]
    search_fields = ["user__username"]
