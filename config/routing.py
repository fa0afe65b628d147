"""WebSocket routes, gathered from the apps that serve them."""

from analytics.routing import websocket_urlpatterns as analytics_routes

websocket_urlpatterns: list = [*analytics_routes]
