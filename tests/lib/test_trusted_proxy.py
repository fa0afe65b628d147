"""X-Forwarded-For and -Proto are believed only with HTTPS=true and only from a trusted proxy."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync

from lib.proxy import TrustedProxyMiddleware, forwarded_scope, parse_networks

PROXIES = parse_networks(["127.0.0.1", "10.1.0.0/16", "::1"])


def scope(peer: str, *headers: tuple[bytes, bytes], kind: str = "http") -> dict:
    return {
        "type": kind,
        "scheme": "ws" if kind == "websocket" else "http",
        "client": [peer, 50123],
        "headers": [(b"host", b"cairn.example.org"), *headers],
    }


XFF = (b"x-forwarded-for", b"203.0.113.9")
PROTO = (b"x-forwarded-proto", b"https")


def test_from_the_proxy_the_client_and_scheme_are_the_forwarded_ones():
    seen = forwarded_scope(scope("10.1.2.3", XFF, PROTO), PROXIES, enabled=True)
    assert (seen["client"], seen["scheme"]) == (["203.0.113.9", 0], "https")
    # The headers stay for Django's SECURE_PROXY_SSL_HEADER.
    assert PROTO in seen["headers"]


def test_a_websocket_through_the_proxy_is_wss():
    seen = forwarded_scope(scope("::1", XFF, PROTO, kind="websocket"), PROXIES, enabled=True)
    assert (seen["client"], seen["scheme"]) == (["203.0.113.9", 0], "wss")


def test_the_address_the_proxy_appended_wins_over_what_the_client_sent():
    header = (b"x-forwarded-for", b"6.6.6.6, 198.51.100.7")
    seen = forwarded_scope(scope("127.0.0.1", header), PROXIES, enabled=True)
    assert seen["client"] == ["198.51.100.7", 0]


@pytest.mark.parametrize(
    ("peer", "enabled"), [("192.0.2.50", True), ("10.2.0.1", True), ("127.0.0.1", False)]
)
def test_from_anyone_else_or_without_https_the_headers_are_dropped(peer, enabled):
    forwarded_host = (b"x-forwarded-host", b"evil.example")
    seen = forwarded_scope(scope(peer, XFF, PROTO, forwarded_host), PROXIES, enabled=enabled)
    assert (seen["client"], seen["scheme"]) == ([peer, 50123], "http")
    assert seen["headers"] == [(b"host", b"cairn.example.org")]


def test_a_forwarded_value_that_is_no_address_leaves_the_peer():
    seen = forwarded_scope(
        scope("127.0.0.1", (b"x-forwarded-for", b"unknown")), PROXIES, enabled=True
    )
    assert seen["client"] == ["127.0.0.1", 50123]


def test_a_bad_entry_is_named():
    with pytest.raises(ValueError, match="'10.0.0.300' is not an address or network"):
        parse_networks(["127.0.0.1", "10.0.0.300"])


def test_the_middleware_hands_the_rewritten_scope_on_and_leaves_lifespan_alone():
    received: list[dict] = []

    async def app(scope, receive, send):
        received.append(scope)

    middleware = TrustedProxyMiddleware(app, PROXIES, enabled=True)
    async_to_sync(middleware)(scope("127.0.0.1", XFF), None, None)
    lifespan = {"type": "lifespan", "headers": [XFF]}
    async_to_sync(middleware)(lifespan, None, None)
    assert received[0]["client"] == ["203.0.113.9", 0]
    assert received[1] is lifespan
