"""The nginx template against Cairn's settings, its units and docs/deploy.md; its renderer."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
from django.conf import settings

from tests.analytics.servers import ROOT

TEMPLATE = (ROOT / "deploy" / "nginx" / "cairn.conf.template").read_text()
RENDER = ROOT / "deploy" / "nginx" / "render"
DEPLOY_DOC = (ROOT / "docs" / "deploy.md").read_text()
DAPHNE_UNIT = (ROOT / "deploy" / "systemd" / "cairn-daphne@.service").read_text()
VARIABLES = {
    "SERVER_NAME": "cairn.example.org",
    "TLS_CERT": "/etc/cairn/tls/cert.pem",
    "TLS_KEY": "/etc/cairn/tls/key.pem",
    "CAIRN_UPSTREAMS": "server 127.0.0.1:8001; server 127.0.0.1:8002;",
    "STATIC_ROOT": "/var/lib/cairn/static",
    "HTTP_PORT": "80",
    "HTTPS_PORT": "443",
}
needs_envsubst = pytest.mark.skipif(shutil.which("envsubst") is None, reason="needs envsubst")


def location(path: str) -> str:
    """The body of the template's `location <path> { … }` (the first such block)."""
    found = re.search(r"location " + re.escape(path) + r" \{(.*?)\n    \}", TEMPLATE, re.S)
    assert found is not None, path
    return found.group(1)


def seconds(text: str, directive: str) -> int:
    found = re.search(directive + r" (\d+)s;", text)
    assert found is not None, directive
    return int(found.group(1))


def test_the_body_limit_is_cairns_largest_upload_limit():
    [size] = re.findall(r"client_max_body_size (\d+)m;", TEMPLATE)
    assert int(size) * 1024 * 1024 == settings.UPLOAD_MAX_BYTES
    assert settings.UPLOAD_MAX_BYTES >= settings.INGEST_MAX_BYTES


def test_websocket_reads_outlast_daphnes_keepalive_ping():
    ws = location("/ws/")
    ping = int(re.search(r"--ping-interval (\d+)", DAPHNE_UNIT).group(1))  # type: ignore[union-attr]
    assert seconds(ws, "proxy_read_timeout") > ping
    assert seconds(ws, "proxy_read_timeout") > settings.LIVE_TICK_SECONDS
    assert "proxy_pass http://cairn;" in ws


def test_every_rate_limit_is_per_address_and_documented_with_its_numbers():
    zones = dict(
        re.findall(r"limit_req_zone \$binary_remote_addr zone=(\w+):10m rate=(\S+);", TEMPLATE)
    )
    bursts = dict(re.findall(r"limit_req zone=(\w+) burst=(\d+) nodelay;", TEMPLATE))
    assert set(zones) == set(bursts) == {"cairn_ingest", "cairn_hooks", "cairn_otlp", "cairn_login"}
    rows = {
        "cairn_ingest": "| `/api/v1/ingest/` |",
        "cairn_hooks": "| `/api/v1/hooks/` |",
        "cairn_otlp": "| `/otlp/` |",
        "cairn_login": "| `/login/`, `/admin/login/`, `/api/auth/login/` |",
    }
    for zone, row in rows.items():
        rate = zones[zone].replace("r/s", "/s").replace("r/m", "/min")
        assert f"{row} {rate} | {bursts[zone]} |" in DEPLOY_DOC, zone


def test_the_proxy_replaces_the_forwarded_address_rather_than_appending():
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in TEMPLATE
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in TEMPLATE
    assert "$proxy_add_x_forwarded_for" not in TEMPLATE


@needs_envsubst
def test_render_fills_only_its_variables():
    env = {"PATH": os.environ["PATH"], **VARIABLES}
    done = subprocess.run(  # noqa: S603 - fixed argument list
        [RENDER], env=env, capture_output=True, text=True, timeout=10, check=True
    )
    conf = done.stdout
    assert "server 127.0.0.1:8001; server 127.0.0.1:8002;" in conf
    assert "ssl_certificate /etc/cairn/tls/cert.pem;" in conf
    assert "alias /var/lib/cairn/static/;" in conf
    assert "return 301 https://cairn.example.org:443$request_uri;" in conf
    # nginx's own variables are left for nginx.
    assert "$binary_remote_addr" in conf and "$http_upgrade" in conf and "$remote_addr" in conf
    assert "${" not in conf


@needs_envsubst
def test_render_refuses_to_run_with_a_variable_unset():
    env = {"PATH": os.environ["PATH"], **VARIABLES}
    del env["TLS_KEY"]
    done = subprocess.run(  # noqa: S603 - fixed argument list
        [RENDER], env=env, capture_output=True, text=True, timeout=10
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "render: TLS_KEY is not set\n"
