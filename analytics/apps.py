from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"

    def ready(self) -> None:
        from analytics import broadcast
        from analytics.state_metrics import analytics_state
        from tracking.metrics import add_state_collector

        broadcast.connect()
        add_state_collector(analytics_state)
