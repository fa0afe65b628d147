from django.contrib import admin

from integrations.models import (
    ApiRequest,
    CrackerjackRun,
    PipelineJob,
    PipelineRun,
    ProjectRule,
    TranscriptFile,
    WebhookDelivery,
)


@admin.register(ProjectRule)
class ProjectRuleAdmin(admin.ModelAdmin):
    list_display = ["path_prefix", "project"]
    search_fields = ["path_prefix"]


@admin.register(TranscriptFile)
class TranscriptFileAdmin(admin.ModelAdmin):
    list_display = ["path", "session", "offset", "lines_read", "bad_lines", "imported_at"]
    search_fields = ["path"]
    readonly_fields = [f.name for f in TranscriptFile._meta.fields]


@admin.register(ApiRequest)
class ApiRequestAdmin(admin.ModelAdmin):
    list_display = ["message_id", "session", "model", "timestamp", "output_tokens"]
    search_fields = ["message_id", "request_id"]
    raw_id_fields = ["session"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """Read-only: a delivery is what the provider sent; `process_webhooks` redoes failed ones."""

    list_display = ["received_at", "project", "provider", "event", "action", "status", "replays"]
    list_filter = ["provider", "status"]
    search_fields = ["delivery_key"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]


@admin.register(PipelineRun)
class PipelineRunAdmin(admin.ModelAdmin):
    list_display = ["project", "provider", "name", "external_id", "attempt", "commit", "conclusion"]
    list_filter = ["provider", "conclusion"]
    search_fields = ["commit", "name"]
    raw_id_fields = ["checkpoint"]
    readonly_fields = [f.name for f in PipelineRun._meta.fields]


@admin.register(PipelineJob)
class PipelineJobAdmin(admin.ModelAdmin):
    list_display = ["project", "provider", "name", "stage", "phase", "conclusion", "duration_s"]
    list_filter = ["provider", "conclusion", "phase"]
    search_fields = ["name", "commit"]
    readonly_fields = [f.name for f in PipelineJob._meta.fields]


@admin.register(CrackerjackRun)
class CrackerjackRunAdmin(admin.ModelAdmin):
    list_display = ["run_id", "project", "source", "started_at", "gate_passed"]
    search_fields = ["run_id"]
    readonly_fields = [f.name for f in CrackerjackRun._meta.fields]
