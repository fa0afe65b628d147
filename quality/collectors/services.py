"""The project's health endpoints: HTTP GET (2xx/3xx = up) or TCP connect, with latency."""

from __future__ import annotations

import http.client
import socket
import time
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

from quality.collectors.base import Reading, Source, measured, not_measured

KEYS = ("services.up", "services.down", "services.latency_ms_max")
TIMEOUT_S = 3.0


def configured(root: Path) -> dict[str, str]:
    """`[tool.cairn.services]` of the project's pyproject.toml: name = "http://…" or "tcp://h:p"."""
    path = root / "pyproject.toml"
    try:
        config = tomllib.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    services = config.get("tool", {}).get("cairn", {}).get("services", {})
    return {str(k): str(v) for k, v in services.items()} if isinstance(services, dict) else {}


def probe(url: str, timeout: float = TIMEOUT_S) -> dict:
    """One check: {"url", "up", "latency_ms", "status" or "error"}."""
    parts = urlsplit(url)
    started = time.perf_counter()
    result: dict = {"url": url}
    try:
        if not parts.hostname:
            return {**result, "up": None, "error": "no host in the URL"}
        if parts.scheme == "tcp":
            with socket.create_connection((parts.hostname, parts.port), timeout=timeout):
                pass
            result["up"] = True
        elif parts.scheme in ("http", "https"):
            cls = (
                http.client.HTTPSConnection
                if parts.scheme == "https"
                else http.client.HTTPConnection
            )
            conn = cls(parts.hostname, parts.port, timeout=timeout)
            try:
                conn.request(
                    "GET", (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
                )
                response = conn.getresponse()
                response.read(65536)
            finally:
                conn.close()
            result["status"] = response.status
            result["up"] = response.status < 400
        else:
            return {**result, "up": None, "error": f"unsupported scheme {parts.scheme!r}"}
    except (OSError, http.client.HTTPException, ValueError) as exc:
        result["up"] = False
        result["error"] = f"{type(exc).__name__}: {exc}"
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def collect(services: dict[str, str], *, timeout: float = TIMEOUT_S) -> list[Reading]:
    """`services.*` over the configured endpoints; detail.checks holds each one's result."""
    source = Source(tool="cairn probe", artefact=", ".join(sorted(services)))
    if not services:
        return not_measured(KEYS, source, "no health endpoints configured ([tool.cairn.services])")
    checks = {name: probe(url, timeout) for name, url in sorted(services.items())}
    usable = {n: c for n, c in checks.items() if c["up"] is not None}
    if not usable:
        return not_measured(KEYS, source, "; ".join(c["error"] for c in checks.values()))
    up = [c for c in usable.values() if c["up"]]
    readings = [
        measured("services.up", len(up), source, checks=checks),
        measured("services.down", len(usable) - len(up), source),
    ]
    if up:
        readings.append(
            measured("services.latency_ms_max", max(c["latency_ms"] for c in up), source)
        )
    else:
        readings += not_measured(["services.latency_ms_max"], source, "no endpoint answered")
    return readings
