from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self) -> None:
        from integrations.claude_code.panel import render_session_panel
        from tracking.panels import register_session_panel

        register_session_panel("claude-code", render_session_panel)
