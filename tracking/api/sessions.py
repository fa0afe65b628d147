"""Sessions: list, detail, start (idempotent on external id) and end (idempotent)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from tracking.api.bodies import validated_body
from tracking.api.fields import AwareDateTimeField, TextField
from tracking.api.filters import QueryFilterSerializer
from tracking.api.pagination import KeysetPagination, paginated_response
from tracking.api.parsers import StrictMultiPartParser
from tracking.api.permissions import ReadOnlyKeyForSafeMethods
from tracking.api.schema import errors
from tracking.api.scope import filtered, session_or_404, write_project
from tracking.models import Project, Session
from tracking.panels import session_facts
from tracking.sessions import SessionError, SessionStart, session_end, session_start

TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")


class SessionSerializer(serializers.ModelSerializer):
    project: serializers.SlugRelatedField[Project] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = Session
        fields = [
            "id",
            "project",
            "external_id",
            "parent",
            "agent",
            "user_name",
            "host",
            "branch",
            "status",
            "started_at",
            "ended_at",
            "start_commit",
            "end_commit",
            "models_used",
            "input_tokens",
            "output_tokens",
            "cache_creation_tokens",
            "cache_read_tokens",
            "cost_usd",
            "context_tokens_last",
            "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {f: {"allow_null": True} for f in TOKEN_FIELDS}

    def to_representation(self, instance: Session) -> dict:
        data = super().to_representation(instance)
        # No recorded usage is "not measured" (null), never a measured 0 (as on the page).
        if not instance.tokens_measured:
            data.update(dict.fromkeys(TOKEN_FIELDS))
        return data


# What fed a session, as its invocations' sources say (apps add theirs: tracking.panels).
INVOCATION_SOURCES = {"hook": "hooks", "api": "ingest", "otlp": "otlp", "transcript": "transcript"}


class SessionDetailSerializer(SessionSerializer):
    """A session with its tool calls (invocations) and what fed it."""

    tool_calls = serializers.IntegerField(help_text="The session's tool and skill invocations.")
    sources = serializers.ListField(
        child=serializers.CharField(),
        help_text="What fed the session: hooks, ingest, otlp, transcript.",
    )

    class Meta(SessionSerializer.Meta):
        fields = [*SessionSerializer.Meta.fields, "tool_calls", "sources"]
        read_only_fields = fields

    def to_representation(self, instance: Session) -> dict:
        instance.tool_calls = instance.invocations.count()  # type: ignore[attr-defined]
        used = instance.invocations.values_list("source", flat=True).distinct()
        facts = session_facts(instance)
        found = {INVOCATION_SOURCES[s] for s in used if s in INVOCATION_SOURCES}
        instance.sources = sorted(found | set(facts.pop("sources")))  # type: ignore[attr-defined]
        data = super().to_representation(instance)
        data.update(facts)
        return data


class SessionListApi(APIView):
    pagination_class = KeysetPagination
    cursor_field = "started_at"

    class FilterSerializer(QueryFilterSerializer):
        project = serializers.SlugField(required=False, help_text="A project's slug.")
        status = serializers.ChoiceField(choices=Session.STATUSES, required=False)
        since = AwareDateTimeField(required=False, help_text="Started at or after (ISO 8601).")
        external_id = TextField(required=False, max_length=200)

    @extend_schema(
        summary="Sessions, newest first",
        parameters=[FilterSerializer],
        responses={200: SessionSerializer(many=True), **errors(400, 401, 404)},
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        sessions = filtered(
            Session.objects.select_related("project"),
            request.user,
            filters.validated_data,
            {"status": "status", "since": "started_at__gte", "external_id": "external_id"},
        )
        return paginated_response(self, request, sessions, SessionSerializer)


class SessionDetailApi(APIView):
    @extend_schema(
        summary="One session", responses={200: SessionDetailSerializer, **errors(401, 404)}
    )
    def get(self, request, pk: int):
        return Response(SessionDetailSerializer(session_or_404(request.user, pk)).data)


class SessionStartApi(APIView):
    """Idempotent on `external_id`: 201 with a new session, 200 with the one that exists."""

    permission_classes = [ReadOnlyKeyForSafeMethods]
    parser_classes = [JSONParser]

    @extend_schema_serializer(component_name="SessionStart")
    class InputSerializer(serializers.Serializer):
        project = serializers.SlugField(
            required=False, help_text="Required when logged in; a key writes to its own project."
        )
        external_id = TextField(max_length=200, min_length=1)
        agent = TextField(max_length=100, required=False, allow_blank=True)
        user_name = TextField(max_length=200, required=False, allow_blank=True)
        host = TextField(max_length=200, required=False, allow_blank=True)
        branch = TextField(max_length=200, required=False, allow_blank=True)
        start_commit = TextField(max_length=64, required=False, allow_blank=True)
        started_at = AwareDateTimeField(happened=True, required=False, help_text="Default: now.")

    @extend_schema(
        summary="Start a session",
        description="Idempotent on `external_id`: starting a session that exists returns it "
        "with 200 and changes nothing it already has (blank fields are filled in).",
        request=InputSerializer,
        responses={
            201: SessionSerializer,
            200: SessionSerializer,
            **errors(400, 401, 403, 404, 413, 415),
        },
    )
    def post(self, request):
        body = validated_body(self.InputSerializer, request)
        project = write_project(request.user, body.pop("project", None))
        session, created = session_start(project=project, start=SessionStart(**body))
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(SessionSerializer(session).data, status=code)


class SessionEndApi(APIView):
    """Idempotent: ending an ended session returns it unchanged with 200 (the first end wins)."""

    permission_classes = [ReadOnlyKeyForSafeMethods]
    # JSON or multipart, strictly: neither urlencoded (any text parses as some form) nor a
    # multipart body of nothing readable may become an empty body taken as "end now".
    parser_classes = [JSONParser, StrictMultiPartParser]

    @extend_schema_serializer(component_name="SessionEnd")
    class InputSerializer(serializers.Serializer):
        end_commit = TextField(max_length=64, required=False, allow_blank=True)
        ended_at = AwareDateTimeField(happened=True, required=False, help_text="Default: now.")

    @extend_schema(
        summary="End a session",
        description="Idempotent: ending a session that has already ended returns it unchanged "
        "with 200; the first end's time and commit are kept. An empty body ends it now.",
        request=InputSerializer,
        responses={200: SessionSerializer, **errors(400, 401, 403, 404, 413, 415)},
    )
    def post(self, request, pk: int):
        session = session_or_404(request.user, pk)
        body = validated_body(self.InputSerializer, request)
        try:
            session, _ = session_end(session=session, **body)
        except SessionError as exc:
            raise ValidationError({"ended_at": [str(exc)]}) from None
        return Response(SessionSerializer(session).data)
