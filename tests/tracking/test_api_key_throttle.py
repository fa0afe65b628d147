"""Failed API keys are counted per client address: past the limit, 429 with Retry-After."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest
from django.core.cache import caches
from django.test import Client

from tests.analytics import servers
from tracking import auth

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.7"
NEIGHBOUR = "198.51.100.20"


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.API_KEY_FAILURE_LIMIT = 5
    settings.API_KEY_FAILURE_WINDOW = 120


def projects(key: str, address: str):
    return Client().get("/api/v1/projects", HTTP_AUTHORIZATION=f"Bearer {key}", REMOTE_ADDR=address)


def test_wrong_keys_beyond_the_limit_are_429_with_retry_after(write_key):
    # The 300 wrong keys: the first five are 401, every later one a 429.
    answers = [projects(f"cairn_wrong{n}", ATTACKER) for n in range(300)]
    assert [a.status_code for a in answers[:5]] == [401] * 5
    assert {a.status_code for a in answers[5:]} == {429}
    last = answers[-1]
    assert last.json()["error"]["code"] == "throttled"
    assert 1 <= int(last["Retry-After"]) <= 120
    # The right key from the locked-out address is refused too: a guess cannot be confirmed.
    assert projects(write_key, ATTACKER).status_code == 429
    # Another address is not affected.
    assert projects(write_key, NEIGHBOUR).status_code == 200
    assert projects("cairn_wrong", NEIGHBOUR).status_code == 401


def test_right_keys_are_not_counted(write_key):
    for _ in range(20):
        assert projects(write_key, ATTACKER).status_code == 200
    assert projects("cairn_wrong", ATTACKER).status_code == 401


def test_the_lockout_lasts_one_window():
    start = 1_000_000.0
    for n in range(5):
        auth.record_key_failure(ATTACKER, now=start + n)
    with pytest.raises(auth.TooManyKeyFailures) as locked:
        auth.check_key_failures(ATTACKER, now=start + 10)
    assert locked.value.retry_after == 120 - 6
    auth.check_key_failures(ATTACKER, now=start + 4 + 120 + 1)  # over: no exception


def test_a_websocket_key_from_a_locked_out_address_is_refused(write_key):
    for n in range(5):
        auth.authenticate_key_from(f"cairn_wrong{n}", ATTACKER)
    with pytest.raises(auth.TooManyKeyFailures):
        auth.authenticate_key_from(write_key, ATTACKER)
    assert auth.authenticate_key_from(write_key, NEIGHBOUR) is not None


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_processes_sharing_redis_count_together(settings, tmp_path):
    """Two cache clients on one Redis (as two Daphne processes) share the count."""
    port = servers.free_port()
    redis = subprocess.Popen(  # noqa: S603 - fixed argument list
        ["redis-server", "--port", str(port), "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    try:
        backend = {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "KEY_PREFIX": "cairn",
        }
        settings.CACHES = {"default": backend, "other": backend}
        deadline = time.monotonic() + 10
        while True:
            try:
                caches["default"].set("ping", 1)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        for n in range(4):
            auth.record_key_failure(ATTACKER, now=5_000.0 + n)
        assert caches["other"].get(f"cairn:api-key-failures:{ATTACKER}:41") == 4
        assert auth.record_key_failure(ATTACKER, now=5_004.0) == 5
        with pytest.raises(auth.TooManyKeyFailures):
            auth.check_key_failures(ATTACKER, now=5_005.0)
    finally:
        redis.terminate()
        redis.wait(timeout=10)


def test_keys_still_work_while_the_cache_that_counts_failures_is_down(write_key, settings):
    # Nothing listens on port 1: every cache call fails as it does while Redis is down.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2},
        }
    }
    assert projects(write_key, ATTACKER).status_code == 200
    assert [projects(f"cairn_wrong{n}", ATTACKER).status_code for n in range(8)] == [401] * 8
