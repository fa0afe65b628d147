"""Sending CI webhook deliveries the way GitHub and GitLab do, for the webhook tests."""

from __future__ import annotations

import hashlib
import hmac
import json

from tests.fixtures import CI


def payload(name: str) -> dict:
    return json.loads((CI / name).read_text())


def github_signature(secret: str, body: bytes) -> str:
    # Written out from GitHub's documentation, not taken from the code under test.
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send_github(client, slug, event, body, *, secret=None, delivery="d-1", signature=None):
    """POST a GitHub delivery; `body` is a dict (encoded here) or raw bytes."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"HTTP_X_GITHUB_EVENT": event, "HTTP_X_GITHUB_DELIVERY": delivery}
    if signature is None and secret is not None:
        signature = github_signature(secret, raw)
    if signature is not None:
        headers["HTTP_X_HUB_SIGNATURE_256"] = signature
    return client.post(
        f"/api/v1/webhooks/github/{slug}", raw, content_type="application/json", **headers
    )


def send_gitlab(client, slug, event, body, *, token=None, idempotency_key=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"HTTP_X_GITLAB_EVENT": event}
    if token is not None:
        headers["HTTP_X_GITLAB_TOKEN"] = token
    if idempotency_key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = idempotency_key
    return client.post(
        f"/api/v1/webhooks/gitlab/{slug}", raw, content_type="application/json", **headers
    )
