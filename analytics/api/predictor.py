"""The success predictor: its active version and predictions (analytics/predictor/)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.exceptions import APIException, NotFound
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.models import ModelVersion
from analytics.predictor.store import VERSION_FIELDS, NoActiveModel, predict_success, status
from tracking.api.bodies import validated_body
from tracking.api.fields import AwareDateTimeField, TextField
from tracking.api.filters import QueryFilterSerializer
from tracking.api.schema import errors
from tracking.api.scope import project_or_404
from tracking.models import Session


class NoModel(APIException):
    status_code = 409
    default_code = "no_active_model"


class VersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = list(VERSION_FIELDS)
        read_only_fields = fields


class PredictorSerializer(serializers.Serializer):
    active = serializers.BooleanField()
    reason = serializers.CharField(help_text="Why no model is active; empty when one is.")
    version = VersionSerializer(
        allow_null=True, help_text="The active version, else the latest attempt (or null)."
    )


class PredictionSerializer(serializers.Serializer):
    p_success = serializers.FloatField(help_text="0–1, calibrated.")
    version = serializers.IntegerField(help_text="The ModelVersion id that answered.")
    at = serializers.DateTimeField()


class PredictorApi(APIView):
    class FilterSerializer(QueryFilterSerializer):
        project = serializers.SlugField(help_text="A project's slug.")

    @extend_schema(
        summary="The project's success predictor and its evaluation",
        parameters=[FilterSerializer],
        responses={200: PredictorSerializer, **errors(400, 401, 404)},
    )
    def get(self, request):
        given = self.FilterSerializer(data=request.query_params)
        given.is_valid(raise_exception=True)
        project = project_or_404(request.user, given.validated_data["project"])
        return Response(PredictorSerializer(status(project)).data)


class PredictApi(APIView):
    """A read: a read-only key may ask (POST only because the question is a body)."""

    parser_classes = [JSONParser]

    @extend_schema_serializer(component_name="PredictRequest")
    class InputSerializer(serializers.Serializer):
        project = serializers.SlugField()
        session = TextField(
            max_length=200,
            min_length=1,
            required=False,
            help_text="A session's external id in the project.",
        )
        skill = TextField(max_length=200, min_length=1)
        phase = TextField(max_length=100, required=False, allow_blank=True, default="")
        at = AwareDateTimeField(required=False, help_text="The call's time (default now).")

    @extend_schema(
        summary="The probability that a call completes",
        description="From the events before `at` with the active model; 409 when the project "
        "has no active model (the detail says why).",
        request=InputSerializer,
        responses={200: PredictionSerializer, **errors(400, 401, 404, 409, 413, 415)},
    )
    def post(self, request):
        body = validated_body(self.InputSerializer, request)
        project = project_or_404(request.user, body["project"])
        session = None
        if "session" in body:
            session = Session.objects.filter(project=project, external_id=body["session"]).first()
            if session is None:
                raise NotFound(f"No session {body['session']!r} in project {project.slug!r}.")
        try:
            answer = predict_success(project, session, body["skill"], body.get("at"), body["phase"])
        except NoActiveModel as error:
            raise NoModel(f"No active model: {error}.") from None
        return Response(PredictionSerializer(answer).data)
