"""The client's address and scheme behind the reverse proxy, believed only from the proxy.

Daphne's own `--proxy-headers` believes `X-Forwarded-For` from whoever connects. This ASGI
middleware believes it only when Cairn is behind TLS (`HTTPS=true`) and the TCP peer is one of
`CAIRN_TRUSTED_PROXIES`: then the scope's client becomes the address the proxy put last in
`X-Forwarded-For` (nginx: `$remote_addr`), and its scheme `https`/`wss` from
`X-Forwarded-Proto`. From any other peer the `X-Forwarded-*` headers are removed before Django
sees them, so neither `SECURE_PROXY_SSL_HEADER` nor anything else can be fooled by a client
that reached Daphne directly. Failed logins and failed API keys are counted by the address
this leaves in `REMOTE_ADDR`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Scope = dict[str, Any]
App = Callable[..., Awaitable[None]]

_FORWARDED = (b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"x-forwarded-port")


def parse_networks(entries: Iterable[str]) -> list[Network]:
    """Addresses or CIDR networks (`127.0.0.1`, `10.0.0.0/24`, `::1`); ValueError names one."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an address or network") from None
    return networks


def _in(address: str, networks: list[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def _last_address(value: bytes) -> str | None:
    """The last entry of an X-Forwarded-For value (the one the proxy added), if an address."""
    last = value.decode("latin-1").split(",")[-1].strip()
    try:
        return str(ipaddress.ip_address(last))
    except ValueError:
        return None


def forwarded_scope(scope: Scope, trusted: list[Network], enabled: bool) -> Scope:
    """`scope` with the client and scheme the trusted proxy forwarded, or without the headers."""
    headers = scope.get("headers", [])
    forwarded = {name: value for name, value in headers if name in _FORWARDED}
    if not forwarded:
        return scope
    peer = (scope.get("client") or [""])[0]
    if not (enabled and _in(peer, trusted)):
        kept = [(name, value) for name, value in headers if name not in _FORWARDED]
        return {**scope, "headers": kept}
    scope = dict(scope)
    address = _last_address(forwarded.get(b"x-forwarded-for", b""))
    if address is not None:
        scope["client"] = [address, 0]
    if forwarded.get(b"x-forwarded-proto", b"").strip().lower() == b"https":
        scope["scheme"] = "wss" if scope["type"] == "websocket" else "https"
    return scope


class TrustedProxyMiddleware:
    """ASGI middleware applying `forwarded_scope` to every HTTP and WebSocket connection."""

    def __init__(self, app: App, trusted: list[Network], enabled: bool) -> None:
        self.app, self.trusted, self.enabled = app, trusted, enabled

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = forwarded_scope(scope, self.trusted, self.enabled)
        await self.app(scope, receive, send)
