"""`/metrics` for Prometheus, behind a bearer token and an optional address allow-list.

The page lists every view's request counts and latencies: it tells an outsider what the server
does and how busy it is, so it is never public. `METRICS_TOKEN` (README) is compared in
constant time; `METRICS_ALLOWED_ADDRESSES`, when set, also limits who may ask.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django_prometheus.exports import ExportToDjangoView

from tracking.auth import bearer_token

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Iterable[str]) -> list[Network]:
    """Addresses or CIDR networks (`10.0.0.5`, `10.0.0.0/24`, `::1`) as networks."""
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


def address_allowed(address: str | None, networks: list[Network]) -> bool:
    """True when no allow-list is set, or `address` lies in one of its networks."""
    if not networks:
        return True
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in network for network in networks)


def token_matches(header: str, expected: str) -> bool:
    """True when an `Authorization: Bearer <token>` header carries `expected` (constant time)."""
    token = bearer_token(header)
    if token is None or not expected:
        return False
    return hmac.compare_digest(token.encode(), expected.encode())


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """django-prometheus's export, for an allowed address with the right token."""
    networks = parse_networks(settings.METRICS_ALLOWED_ADDRESSES)
    if not address_allowed(request.META.get("REMOTE_ADDR"), networks):
        return HttpResponse("Forbidden.\n", status=403, content_type="text/plain")
    if not token_matches(request.META.get("HTTP_AUTHORIZATION", ""), settings.METRICS_TOKEN):
        response = HttpResponse(
            "Authorization: Bearer <METRICS_TOKEN> required.\n",
            status=401,
            content_type="text/plain",
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return ExportToDjangoView(request)
