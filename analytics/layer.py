"""The channel layer the live views send through."""

from __future__ import annotations

from channels.layers import BaseChannelLayer, get_channel_layer
from django.core.exceptions import ImproperlyConfigured


def channel_layer() -> BaseChannelLayer:
    """The default channel layer; config/settings.py always configures one (in-memory or Redis),
    so its absence is a configuration error rather than a case to handle."""
    layer = get_channel_layer()
    if layer is None:
        raise ImproperlyConfigured("CHANNEL_LAYERS has no default layer")
    return layer
