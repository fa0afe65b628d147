"""`POST /api/v1/webhooks/github/<project>` and `/gitlab/<project>`: CI deliveries.

Authenticated by the project's webhook secret, not by an API key: the signature (GitHub) or
token (GitLab) is checked on the raw body before anything is parsed, and a delivery that fails
it stores nothing. A valid delivery is stored once per dedupe key (a replay is answered 200 and
counted on the stored row), and its work runs after the commit (`pipelines.process_delivery`).

Prometheus (for the lead, at merge): `cairn_webhook_deliveries_total{provider, event, outcome}`
is to be incremented in `_answer` (outcome = the answer's `status`: accepted, duplicate,
ignored; bad_signature in `_refuse`), and `cairn_ci_runs_total{provider, conclusion}` in
`pipelines.apply_delivery` when a run first gets a conclusion.
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.ci import github, gitlab
from integrations.ci.facts import Delivery, PayloadError
from integrations.ci.models import GITHUB, GITLAB, WebhookDelivery, WebhookSecret
from integrations.ci.pipelines import parse, process_delivery
from tracking import instruments
from tracking.api.ingest import RawJSONParser, parse_json_body
from tracking.api.limits import read_body
from tracking.api.schema import RequiredBodySchema, errors
from tracking.models import Project


class BadSignature(exceptions.APIException):
    """401: the delivery does not verify with the project's webhook secret."""

    status_code = status.HTTP_401_UNAUTHORIZED
    default_code = "bad_signature"


def _secret(slug: str, provider: str) -> tuple[Project, str] | None:
    row = (
        WebhookSecret.objects.select_related("project")
        .filter(project__slug=slug, provider=provider)
        .first()
    )
    return (row.project, row.secret) if row else None


def _refuse(provider: str, message: str) -> BadSignature:
    # One answer for an unknown project, a project without a secret and a wrong signature:
    # which of them it is would tell a stranger which projects exist. The event header of an
    # unverified delivery is not believed: it is counted as "other".
    instruments.count_webhook(provider, "", "bad_signature")
    return BadSignature(message)


def _header(request, name: str) -> str:
    value = request.headers.get(name, "").strip()
    if not value:
        raise exceptions.ParseError(f"The {name} header is required.")
    if len(value) > 200:
        raise exceptions.ParseError(f"The {name} header is longer than 200 characters.")
    return value


def _parsed(provider: str, event: str, body: bytes) -> tuple[object, Delivery]:
    payload = parse_json_body(body)
    try:
        return payload, parse(provider, event, payload)
    except PayloadError as exc:
        raise exceptions.ParseError(str(exc)) from None


def _answer(
    project: Project, provider: str, key: str, payload: object, parsed: Delivery
) -> Response:
    """Store the delivery once and answer: 200 accepted or duplicate, 202 ignored."""
    state = WebhookDelivery.PENDING
    if parsed.event == "ping":
        state = WebhookDelivery.DONE
    elif not parsed.handled:
        state = WebhookDelivery.IGNORED
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                project=project,
                provider=provider,
                delivery_key=key,
                event=parsed.event[:100],
                action=parsed.action[:50],
                status=state,
                payload=payload if state == WebhookDelivery.PENDING else None,
            )
            if state == WebhookDelivery.PENDING:
                transaction.on_commit(lambda: process_delivery(delivery.pk))
    except IntegrityError:
        WebhookDelivery.objects.filter(project=project, provider=provider, delivery_key=key).update(
            replays=F("replays") + 1
        )
        instruments.count_webhook(provider, parsed.event, "duplicate")
        return Response({"status": "duplicate", "delivery": key})
    if state == WebhookDelivery.IGNORED:
        instruments.count_webhook(provider, parsed.event, "ignored")
        return Response(
            {"status": "ignored", "delivery": key, "event": parsed.event},
            status=status.HTTP_202_ACCEPTED,
        )
    instruments.count_webhook(provider, parsed.event, "accepted")
    return Response({"status": "pong" if parsed.event == "ping" else "accepted", "delivery": key})


ANSWER = inline_serializer(
    "WebhookAnswer",
    {
        "status": serializers.ChoiceField(["accepted", "duplicate", "pong", "ignored"]),
        "delivery": serializers.CharField(),
        "event": serializers.CharField(required=False),
    },
)
RESPONSES = {
    200: OpenApiResponse(ANSWER, description="Stored (accepted), answered (pong), or a replay."),
    202: OpenApiResponse(ANSWER, description="An event Cairn does not handle: counted, ignored."),
    # 404: a path that is not a slug (an unknown slug is a 401, see `_refuse`).
    **errors(400, 401, 404, 413),
}


class WebhookApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [RawJSONParser]
    schema = RequiredBodySchema()


class GitHubWebhookApi(WebhookApi):
    @extend_schema(
        summary="Receive a GitHub webhook delivery",
        description="`workflow_run` and `workflow_job` (in_progress, completed) are stored; "
        "`ping` is answered; other events are answered 202 and counted. `X-Hub-Signature-256` "
        "is checked against the project's GitHub webhook secret before the body is read as "
        "JSON: 401 and nothing stored when it does not match. Deduplicated on "
        "`X-GitHub-Delivery`.",
        parameters=[
            OpenApiParameter("X-Hub-Signature-256", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("X-GitHub-Event", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("X-GitHub-Delivery", str, OpenApiParameter.HEADER, required=True),
        ],
        request={"application/json": {"type": "object"}},
        responses=RESPONSES,
        auth=[],
    )
    def post(self, request, project: str):
        body = read_body(request, settings.INGEST_MAX_BYTES)
        found = _secret(project, GITHUB)
        signature = request.headers.get("X-Hub-Signature-256")
        if found is None or not github.signature_ok(found[1], body, signature):
            raise _refuse(
                GITHUB,
                "X-Hub-Signature-256 is missing or does not verify with this project's GitHub "
                "webhook secret (or no such project has one).",
            )
        event = _header(request, "X-GitHub-Event")
        key = _header(request, "X-GitHub-Delivery")
        payload, parsed = _parsed(GITHUB, event, body)
        return _answer(found[0], GITHUB, key, payload, parsed)


class GitLabWebhookApi(WebhookApi):
    @extend_schema(
        summary="Receive a GitLab webhook delivery",
        description="Pipeline Hook and Job Hook are stored; other events are answered 202 and "
        "counted. `X-Gitlab-Token` must be the project's GitLab webhook secret (compared in "
        "constant time): 401 and nothing stored otherwise. Deduplicated on `Idempotency-Key`, "
        "else on the body's sha256.",
        parameters=[
            OpenApiParameter("X-Gitlab-Token", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("X-Gitlab-Event", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER),
        ],
        request={"application/json": {"type": "object"}},
        responses=RESPONSES,
        auth=[],
    )
    def post(self, request, project: str):
        body = read_body(request, settings.INGEST_MAX_BYTES)
        found = _secret(project, GITLAB)
        if found is None or not gitlab.token_ok(found[1], request.headers.get("X-Gitlab-Token")):
            raise _refuse(
                GITLAB,
                "X-Gitlab-Token is missing or is not this project's GitLab webhook secret (or no "
                "such project has one).",
            )
        event = _header(request, "X-Gitlab-Event")
        key = gitlab.delivery_key(request.headers.get("Idempotency-Key"), body)
        payload, parsed = _parsed(GITLAB, event, body)
        return _answer(found[0], GITLAB, key, payload, parsed)
