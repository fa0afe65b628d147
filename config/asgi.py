"""ASGI entry point: Daphne serves HTTP and WebSocket from here."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from config.routing import websocket_urlpatterns  # noqa: E402
from integrations.mcp.http import with_mcp  # noqa: E402
from lib import gctune  # noqa: E402
from lib.proxy import TrustedProxyMiddleware  # noqa: E402
from tracking.ws_auth import ApiKeyOrSessionAuthMiddleware  # noqa: E402

application = TrustedProxyMiddleware(
    ProtocolTypeRouter(
        {
            # MCP over streamable HTTP at /mcp/ (integrations/mcp/http.py), Django for the rest.
            "http": with_mcp(django_asgi_app),
            "websocket": AllowedHostsOriginValidator(
                ApiKeyOrSessionAuthMiddleware(URLRouter(websocket_urlpatterns))
            ),
        }
    ),
    trusted=settings.CAIRN_TRUSTED_PROXIES,
    enabled=settings.HTTPS,
)

# Many connections and requests, each making short-lived objects beside what start-up loaded.
gctune.server_started()
