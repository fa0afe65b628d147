from django.contrib import admin

from integrations.models import ApiRequest, ProjectRule, TranscriptFile


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
