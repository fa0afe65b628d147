"""`/metrics` answers only with `Authorization: Bearer $METRICS_TOKEN`, from allowed addresses."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tracking.metrics import address_allowed, parse_networks

TOKEN = "s3cret-metrics-token"


@pytest.fixture(autouse=True)
def _token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_ADDRESSES = []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer wrong",
        f"Basic {TOKEN}",
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
    ],
)
def test_it_is_401_without_the_right_token(client, header):
    extra = {} if header is None else {"HTTP_AUTHORIZATION": header}
    response = client.get("/metrics", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"django_http_requests" not in response.content


@pytest.mark.django_db
def test_it_serves_the_metrics_with_the_token(client):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert b"# TYPE django_http_requests_before_middlewares_total counter" in response.content
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_an_allow_list_refuses_other_addresses_even_with_the_token(client, settings):
    settings.METRICS_ALLOWED_ADDRESSES = ["10.0.0.0/24", "::1"]
    right = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", **right).status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.7", **right).status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::1", **right).status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.7").status_code == 401


def test_addresses_are_matched_by_network():
    networks = parse_networks(["192.168.1.0/24", "2001:db8::/32", "10.1.2.3"])
    assert address_allowed("192.168.1.255", networks)
    assert not address_allowed("192.168.2.1", networks)
    assert address_allowed("2001:db8::1", networks)
    assert address_allowed("10.1.2.3", networks) and not address_allowed("10.1.2.4", networks)
    assert not address_allowed("not-an-address", networks)
    assert not address_allowed(None, networks)
    assert address_allowed("203.0.113.9", [])


def test_an_unset_token_is_generated_into_var_and_kept(tmp_path):
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings", CAIRN_VAR_DIR=str(tmp_path))
    env.pop("METRICS_TOKEN", None)
    env.pop("METRICS_TOKEN_FILE", None)
    script = (
        "import django; django.setup();"
        "from django.conf import settings; print(settings.METRICS_TOKEN)"
    )
    first = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    second = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    stored = (tmp_path / "metrics_token").read_text().strip()
    assert len(stored) >= 40
    assert first.stdout.strip() == second.stdout.strip() == stored
    assert (tmp_path / "metrics_token").stat().st_mode & 0o777 == 0o600
