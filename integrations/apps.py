from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self) -> None:
        from integrations.claude_code.panel import render_session_panel
        from integrations.claude_code.selectors import transcript_tokens
        from integrations.otlp.figures import live_fields, otlp_facts
        from integrations.otlp.panel import render_otlp_panel
        from tracking.panels import (
            register_live_session_fields,
            register_session_facts,
            register_session_panel,
            register_token_source,
        )

        register_session_panel("claude-code", render_session_panel)
        register_token_source("claude-code-transcript", transcript_tokens)
        register_session_facts("otlp", otlp_facts)
        register_session_panel("otlp", render_otlp_panel)
        register_live_session_fields("otlp", live_fields)

        from integrations.ci.pipelines import on_checkpoint_created
        from tracking.events import checkpoint_created

        checkpoint_created.connect(on_checkpoint_created, dispatch_uid="ci-checkpoint-link")

        from analytics.skill_panels import register_skill_panel
        from integrations.crackerjack.panel import render_crackerjack_panel

        register_skill_panel("crackerjack", render_crackerjack_panel)
