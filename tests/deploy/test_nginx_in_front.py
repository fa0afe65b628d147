"""A real nginx, from deploy/nginx/cairn.conf.template, in front of two Daphne processes and the
live broadcaster on Postgres and Redis, with a certificate this test makes with openssl.

The client connects from 127.0.0.2, so the address Cairn sees can be told from the proxy's
(127.0.0.1). Needs nginx, openssl, envsubst, Postgres and Redis.
"""

from __future__ import annotations

import getpass
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import redis
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import User
from websockets.sync.client import connect
from websockets.typing import Origin

from tests.analytics import servers
from tests.analytics.servers import Process, frames

pytestmark = pytest.mark.django_db(transaction=True)
DEPLOY = servers.ROOT / "deploy" / "nginx"
CLIENT = "127.0.0.2"  # the client's own address: loopback, but not the proxy's
HSTS = "max-age=31536000; includeSubDomains; preload"
PASSWORD = "a long password for the proxy test"
# The documented production settings (deploy/systemd/cairn.env.example), for this test's hosts.
PRODUCTION = {
    "DEBUG": "false",
    "HTTPS": "true",
    "SECRET_KEY": "proxy-test-" + "k3y" * 20,
    "ALLOWED_HOSTS": "localhost,127.0.0.1",
    "CAIRN_TRUSTED_PROXIES": "127.0.0.1,::1",
    "LIVE_TICK_SECONDS": "0.2",
}


def wrapper_conf(prefix: Path) -> str:
    """nginx's main file around the rendered template: everything inside the test's folder."""
    user = f"user {getpass.getuser()};\n" if os.geteuid() == 0 else ""
    temp = " ".join(
        f"{kind}_temp_path {prefix / 'tmp' / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}worker_processes 2;\npid {prefix / 'nginx.pid'};\n"
        f"error_log {prefix / 'error.log'};\nevents {{ worker_connections 256; }}\n"
        "http {\n  types { text/css css; application/javascript js; text/html html; }\n"
        "  log_format upstreams '$request_method $uri $status $upstream_addr';\n"
        f"  access_log {prefix / 'access.log'} upstreams;\n  {temp}\n"
        f"  include {prefix / 'cairn.conf'};\n}}\n"
    )


def wait_for_port(port: int, process: Process, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"exited: {process.log.read_text()[-2000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing on {port}: {process.log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def stack(django_db_setup, tmp_path_factory):
    missing = [tool for tool in ("nginx", "openssl", "envsubst") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")
    database = servers.database_url()
    if database is None or not settings.REDIS_URL:
        pytest.skip("needs Postgres (DATABASE_URL) and Redis (REDIS_URL) shared with servers")
    redis.Redis.from_url(settings.REDIS_URL).delete("cairn:live:views")
    work = tmp_path_factory.mktemp("nginx")
    (work / "tmp").mkdir()
    cert, key = work / "cert.pem", work / "key.pem"
    subprocess.run(  # noqa: S603 - fixed argument list
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"]
        + ["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    env = servers.server_env(
        DATABASE_URL=database, REDIS_URL=settings.REDIS_URL, CAIRN_VAR_DIR=str(work), **PRODUCTION
    )
    # Started together where they can be, as each Python takes seconds to start here.
    manage = [sys.executable, "manage.py"]
    collect = Process([*manage, "collectstatic", "--noinput", "-v0"], env, work / "collect.log")
    deploy_check = Process([*manage, "check", "--deploy"], env, work / "check.log")
    daphnes, http_port, https_port = (
        [servers.free_port() for _ in range(2)],
        *(servers.free_port() for _ in range(2)),
    )
    rendered = subprocess.run(  # noqa: S603
        [DEPLOY / "render"],
        env={
            "PATH": os.environ["PATH"],
            "SERVER_NAME": "localhost",
            "TLS_CERT": str(cert),
            "TLS_KEY": str(key),
            "CAIRN_UPSTREAMS": " ".join(f"server 127.0.0.1:{port};" for port in daphnes),
            "STATIC_ROOT": str(work / "static"),
            "HTTP_PORT": str(http_port),
            "HTTPS_PORT": str(https_port),
        },
        check=True,
        capture_output=True,
        text=True,
        timeout=10,
    )
    (work / "cairn.conf").write_text(rendered.stdout)
    (work / "nginx.conf").write_text(wrapper_conf(work))
    nginx = [
        "nginx",
        "-p",
        str(work),
        "-e",
        str(work / "error.log"),
        "-c",
        str(work / "nginx.conf"),
    ]
    processes = [
        servers.live_broadcast(env, work / "broadcast.log"),
        Process([*nginx, "-g", "daemon off;"], env, work / "nginx.log"),
    ]
    try:
        # Daphne only after collectstatic: the static files storage reads the manifest once.
        assert collect.popen.wait(timeout=120) == 0, collect.log.read_text()
        processes += [servers.daphne(port, env, work / f"daphne-{port}.log") for port in daphnes]
        deploy_check.popen.wait(timeout=120)
        wait_for_port(https_port, processes[1])
        for port, process in zip(daphnes, processes[2:], strict=True):
            servers.wait_until_serving(port, process)
        context = ssl.create_default_context(cafile=str(cert))
        yield {
            "work": work,
            "daphnes": daphnes,
            "http": http_port,
            "https": https_port,
            "tls": context,
            "cert": cert,
            "check": deploy_check,
        }
    finally:
        for process in [collect, deploy_check, *processes]:
            process.kill()


def https(
    stack, method: str, path: str, body: bytes | None = None, source: str = CLIENT, **headers: str
) -> tuple:
    """One request from `source` over TLS: (status, headers as a list, body)."""
    connection = http.client.HTTPSConnection(
        "127.0.0.1", stack["https"], context=stack["tls"], source_address=(source, 0), timeout=10
    )
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()


def values(headers: list[tuple[str, str]], name: str) -> list[str]:
    return [value for key, value in headers if key.lower() == name.lower()]


def csrf_token(page: bytes) -> str:
    """The login form's CSRF token."""
    found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert found is not None, page[:500]
    return found.group(1).decode()


def cookies(headers: list[tuple[str, str]]) -> dict[str, str]:
    """Each Set-Cookie's name and its whole header line."""
    return {line.split("=", 1)[0]: line for line in values(headers, "Set-Cookie")}


@pytest.fixture
def member(project):
    """A member whose password the servers can check (their hasher, not the tests' fast one)."""
    user = User.objects.create(username="dora")
    hasher = PBKDF2PasswordHasher()
    user.password = hasher.encode(PASSWORD, hasher.salt(), iterations=1000)
    user.save()
    project.members.add(user)
    return user


def test_plain_http_is_redirected_to_https_without_hsts(stack):
    connection = http.client.HTTPConnection(
        "127.0.0.1", stack["http"], source_address=(CLIENT, 0), timeout=10
    )
    connection.request("GET", "/login/?next=/p/alpha/")
    response = connection.getresponse()
    assert response.status == 301
    assert (
        response.getheader("Location")
        == f"https://localhost:{stack['https']}/login/?next=/p/alpha/"
    )
    assert response.getheader("Strict-Transport-Security") is None
    connection.close()


def test_the_login_page_is_served_over_https_with_hsts_secure_cookies_and_http2(stack, member):
    status, headers, body = https(stack, "GET", "/login/")
    assert status == 200
    assert values(headers, "Strict-Transport-Security") == [HSTS]
    csrf = cookies(headers)["csrftoken"]
    assert "; Secure" in csrf
    token = csrf_token(body)
    origin = f"https://127.0.0.1:{stack['https']}"
    form = urlencode({"username": "dora", "password": PASSWORD, "csrfmiddlewaretoken": token})
    status, headers, _ = https(
        stack,
        "POST",
        "/login/",
        form.encode(),
        **{
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": SimpleCookie(csrf).output(header="", attrs=[]).strip(),
            "Origin": origin,
            "Referer": f"{origin}/login/",
        },
    )
    # The CSRF check passed through the proxy (scheme and host as the client used them).
    assert status == 302, headers
    session = cookies(headers)["sessionid"]
    assert "; Secure" in session and "; HttpOnly" in session
    # HTTP/2 is offered to clients that ask for it.
    with (
        socket.create_connection(("127.0.0.1", stack["https"]), timeout=10) as raw,
        _alpn(stack["cert"]).wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        assert tls.selected_alpn_protocol() == "h2"


def _alpn(cert: Path) -> ssl.SSLContext:
    """A context of its own that offers HTTP/2 (the shared one speaks HTTP/1.1 only)."""
    context = ssl.create_default_context(cafile=str(cert))
    context.set_alpn_protocols(["h2", "http/1.1"])
    return context


def test_the_api_answers_over_https_with_one_hsts_header(stack, read_key):
    status, headers, body = https(
        stack, "GET", "/api/v1/projects", None, Authorization=f"Bearer {read_key}"
    )
    assert status == 200
    assert [p["slug"] for p in json.loads(body)] == ["alpha"]
    # Django's own copy is hidden: one policy, nginx's.
    assert values(headers, "Strict-Transport-Security") == [HSTS]


def test_cairn_counts_the_clients_address_not_the_proxys_nor_a_forged_one(stack, member):
    status, headers, body = https(stack, "GET", "/login/")
    token = csrf_token(body)
    origin = f"https://127.0.0.1:{stack['https']}"
    form = urlencode({"username": "dora", "password": "wrong", "csrfmiddlewaretoken": token})
    status, _, _ = https(
        stack,
        "POST",
        "/login/",
        form.encode(),
        **{
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": SimpleCookie(cookies(headers)["csrftoken"]).output(header="").strip(),
            "Origin": origin,
            "Referer": f"{origin}/login/",
            "X-Forwarded-For": "203.0.113.66",
        },
    )
    assert status == 200  # the form again, with its error
    [attempt] = AccessAttempt.objects.filter(username="dora")
    assert (attempt.ip_address, attempt.failures_since_start) == (CLIENT, 1)


def test_static_files_are_served_by_nginx_and_cached_a_year(stack):
    manifest = json.loads((stack["work"] / "static" / "staticfiles.json").read_text())
    hashed = manifest["paths"]["cairn.css"]
    assert hashed != "cairn.css"
    status, headers, body = https(stack, "GET", f"/static/{hashed}")
    assert status == 200
    assert body == (stack["work"] / "static" / hashed).read_bytes()
    assert values(headers, "Cache-Control") == ["max-age=31536000"]
    assert values(headers, "Strict-Transport-Security") == [HSTS]
    assert values(headers, "Server") == ["nginx"]  # not a Daphne behind it


def test_an_oversize_upload_is_refused_by_nginx_before_daphne(stack, write_key):
    limit = 20 * 1024 * 1024
    assert limit == settings.UPLOAD_MAX_BYTES  # the template's client_max_body_size (20m)
    assert "client_max_body_size 20m;" in (DEPLOY / "cairn.conf.template").read_text()
    with (
        socket.create_connection(("127.0.0.1", stack["https"]), 10, (CLIENT, 0)) as raw,
        stack["tls"].wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.sendall(
            (
                f"POST /api/v1/checkpoints HTTP/1.1\r\nHost: 127.0.0.1:{stack['https']}\r\n"
                f"Authorization: Bearer {write_key}\r\nContent-Type: multipart/form-data; "
                f"boundary=x\r\nContent-Length: {limit + 1}\r\n\r\n"
            ).encode()
        )
        answer = tls.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"<center>nginx</center>" in answer  # nginx's page: Daphne never saw the body


def test_wss_clients_through_nginx_get_the_ticks_from_both_processes(stack, read_key):
    url = f"wss://127.0.0.1:{stack['https']}/ws/live/"
    options: dict[str, Any] = {
        "ssl": stack["tls"],
        "origin": Origin(f"https://127.0.0.1:{stack['https']}"),
        "additional_headers": {"Authorization": f"Bearer {read_key}"},
        "open_timeout": 10,
    }
    with connect(url, **options) as one, connect(url, **options) as two:
        first = {f["seq"]: f for f in frames(one, "metrics_update", 5)}
        second = {f["seq"]: f for f in frames(two, "metrics_update", 5)}
    common = sorted(set(first) & set(second))
    assert common, (sorted(first), sorted(second))
    assert all(first[seq] == second[seq] for seq in common)  # one broadcaster, same frames
    # nginx writes a WebSocket's line when it closes: least_conn sent one to each process.
    deadline = time.monotonic() + 5
    lines: list[str] = []
    while time.monotonic() < deadline and len(lines) < 2:
        log = (stack["work"] / "access.log").read_text().splitlines()
        lines = [line for line in log if line.startswith("GET /ws/live/ 101 ")]
        time.sleep(0.1)
    upstreams = sorted(line.split()[-1] for line in lines)
    assert upstreams == sorted(f"127.0.0.1:{port}" for port in stack["daphnes"])


def test_logins_are_rate_limited_per_address(stack):
    # 10 a minute with a burst of 10: the first 11 pass, then 429 until the rate refills.
    answers = [https(stack, "GET", "/login/", source="127.0.0.3") for _ in range(20)]
    statuses = [status for status, _, _ in answers]
    assert statuses[:11] == [200] * 11, statuses
    assert 429 in statuses[11:], statuses
    refused = next(headers for status, headers, _ in answers if status == 429)
    assert values(refused, "Strict-Transport-Security") == [HSTS]
    # Another address is not affected.
    assert https(stack, "GET", "/login/")[0] == 200


def test_check_deploy_is_clean_with_the_documented_settings(stack):
    done = stack["check"]
    assert done.popen.returncode == 0, done.log.read_text()
    assert done.log.read_text().strip() == "System check identified no issues (0 silenced)."
