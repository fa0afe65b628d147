"""WebSocket routes of the analytics app."""

from django.urls import path

from analytics.consumers import LiveConsumer

websocket_urlpatterns = [
    # Channels' URLRouter takes ASGI applications in Django's path(); the stubs allow views only.
    path("ws/live/", LiveConsumer.as_asgi()),  # type: ignore[arg-type]
]
