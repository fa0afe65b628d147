"""Every error under /api/ is JSON in the one shape; pages keep HTML errors."""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request

import pytest
from django.test import Client

from tests.analytics import servers
from tests.tracking.raising_urls import SECRET


def assert_shape(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body


@pytest.mark.django_db
def test_an_unknown_url_under_api_is_a_json_404(client):
    for path in ("/api/v1/nope", "/api/v1/projects/alpha/nope/", "/api/nothing-here/"):
        body = assert_shape(client.get(path), 404, "not_found")
        assert body == {"error": {"code": "not_found", "message": "Not found."}}


@pytest.mark.django_db
def test_an_unknown_page_keeps_the_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_a_plain_django_view_under_api_answers_405_as_json(client):
    # DRF's login page (a Django LoginView) answers DELETE with an empty HttpResponseNotAllowed.
    response = client.delete("/api/auth/login/")
    assert_shape(response, 405, "method_not_allowed")
    assert {"GET", "POST"} <= set(response["Allow"].replace(" ", "").split(","))


@pytest.mark.django_db
def test_a_drf_405_keeps_its_shape(write_api, project):
    response = write_api.delete("/api/v1/projects/alpha")
    body = assert_shape(response, 405, "method_not_allowed")
    assert body["error"]["message"] == 'Method "DELETE" not allowed.'


@pytest.mark.django_db
@pytest.mark.urls("tests.tracking.raising_urls")
@pytest.mark.parametrize("path", ["/api/v1/test-drf-bug", "/api/v1/test-django-bug"])
def test_an_unhandled_exception_is_a_logged_json_500_without_its_text(path, caplog):
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.ERROR):
        response = client.get(path)
    body = assert_shape(response, 500, "server_error")
    assert body == {"error": {"code": "server_error", "message": "Internal server error."}}
    assert "hunter2" not in response.content.decode()
    # The traceback is in the log for whoever runs the server.
    logged = [record for record in caplog.records if record.exc_info]
    assert any(SECRET in str(record.exc_info[1]) for record in logged), caplog.text


@pytest.mark.django_db
@pytest.mark.urls("tests.tracking.raising_urls")
def test_a_page_keeps_the_html_500():
    response = Client(raise_request_exception=False).get("/test-page-bug")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert "hunter2" not in response.content.decode()


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of a GET, errors included."""
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - local server
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture(scope="module")
def server_without_database(tmp_path_factory):
    """A real Daphne whose Postgres is a closed port, with the default pool timeout."""
    var = tmp_path_factory.mktemp("no-database")
    env = servers.server_env(
        DATABASE_URL="postgres://postgres@127.0.0.1:1/nowhere",
        REDIS_URL="",
        CAIRN_VAR_DIR=str(var),
        LIVE_TICKER_IN_PROCESS="false",
    )
    env.pop("DATABASE_POOL_TIMEOUT", None)
    port = servers.free_port()
    process = servers.daphne(port, env, var / "daphne.log")
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.popen.poll() is not None:
                raise RuntimeError(process.log.read_text()[-2000:])
            try:
                get(f"http://127.0.0.1:{port}/api/nothing/")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield {"port": port, "process": process}
    finally:
        process.stop()


LEAKS = ("127.0.0.1", "port 1", "Connection refused", "PoolTimeout", "nowhere", "postgres")


def test_an_outage_is_a_fast_json_503_with_retry_after(server_without_database):
    port = server_without_database["port"]
    for path in ("/api/v1/projects", "/api/v1/sessions?project=alpha"):
        started = time.monotonic()
        status, headers, body = get(
            f"http://127.0.0.1:{port}{path}", {"Authorization": "Bearer cairn_not_checked"}
        )
        took = time.monotonic() - started
        assert status == 503, body
        assert headers["Content-Type"] == "application/json"
        assert headers["Retry-After"] == "5"
        assert took < 3.0, f"{path} took {took:.1f} s"
        text = body.decode()
        assert '"code": "database_unavailable"' in text or '"code":"database_unavailable"' in text
        for leak in LEAKS:
            assert leak not in text, text


def test_healthz_names_the_database_without_the_exception(server_without_database):
    port = server_without_database["port"]
    started = time.monotonic()
    status, _, body = get(f"http://127.0.0.1:{port}/healthz")
    assert time.monotonic() - started < 3.0
    assert status == 503
    text = body.decode()
    assert '"database": "fail"' in text
    assert "The database did not answer a query." in text
    for leak in LEAKS:
        assert leak not in text, text
    # The operator still finds the cause in the server's log.
    log = server_without_database["process"].log.read_text()
    assert "healthz: database failed" in log


def test_a_page_during_the_outage_is_an_html_503(server_without_database):
    port = server_without_database["port"]
    # A session cookie makes the page look its session up in the database.
    status, headers, body = get(f"http://127.0.0.1:{port}/", {"Cookie": "sessionid=" + "a" * 32})
    assert status == 503
    assert headers["Content-Type"].startswith("text/html")
    assert headers["Retry-After"] == "5"
    assert b"Database unavailable" in body
