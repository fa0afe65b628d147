"""The channel layer the live views send through."""

from __future__ import annotations

from channels.layers import BaseChannelLayer, get_channel_layer
from django.core.exceptions import ImproperlyConfigured
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# What the Redis layer and registry raise while Redis cannot be reached (refused, reset, timed
# out, still loading after a restart): an outage to report and wait out, not a bug.
UNAVAILABLE: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    OSError,
    TimeoutError,
)


def channel_layer() -> BaseChannelLayer:
    """The default channel layer; config/settings.py always configures one (in-memory or Redis),
    so its absence is a configuration error rather than a case to handle."""
    layer = get_channel_layer()
    if layer is None:
        raise ImproperlyConfigured("CHANNEL_LAYERS has no default layer")
    return layer
