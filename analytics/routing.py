"""WebSocket routes of the analytics app."""

from django.urls import path

from analytics.consumers import LiveConsumer
from lib import gctune

# Only ASGI processes import the routes: tune their collector for many connections.
gctune.tune()

websocket_urlpatterns = [
    # Channels' URLRouter takes ASGI applications in Django's path(); the stubs allow views only.
    path("ws/live/", LiveConsumer.as_asgi()),  # type: ignore[arg-type]
]
