"""Skills a user might try next, and similar users (analytics/recommendations.py)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.recommendations import DEFAULT_DAYS, LIMIT, recommendations
from tracking.api.fields import AwareDateTimeField, TextField
from tracking.api.filters import QueryFilterSerializer
from tracking.api.schema import errors
from tracking.api.scope import project_or_404

MAX_DAYS = 366
MAX_LIMIT = 50


class BecauseSerializer(serializers.Serializer):
    skill = serializers.CharField(help_text="A skill the user completed.")
    cosine = serializers.FloatField()


class RecommendationSerializer(serializers.Serializer):
    skill = serializers.CharField()
    score = serializers.FloatField(
        help_text="Σ cosine (item_item_cosine) or the Wilson lower bound (popularity)."
    )
    # The field's name is the spec's (analytics-anchors.md §8); DRF's metaclass takes declared
    # fields off the class, so it does not shadow Field.source at run time, only for mypy.
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=["item_item_cosine", "popularity"]
    )
    support_users = serializers.IntegerField(help_text="Users who completed the skill.")
    because_of = BecauseSerializer(many=True)


class SimilarUserSerializer(serializers.Serializer):
    user = serializers.CharField()
    jaccard = serializers.FloatField(help_text="On the distinct sets of completed skills.")
    common_skills = serializers.IntegerField()


class RecommendationsSerializer(serializers.Serializer):
    user = serializers.CharField()
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    n = serializers.IntegerField(help_text="Named users with a call in the window.")
    user_known = serializers.BooleanField(help_text="Whether the user made a call in it.")
    user_completed = serializers.ListField(child=serializers.CharField())
    method = serializers.CharField()
    origin = serializers.ChoiceField(
        choices=["stored", "computed"], help_text="The worker's stored matrix, or the event log."
    )
    computed_at = serializers.DateTimeField()
    min_users = serializers.IntegerField()
    min_common_skills = serializers.IntegerField()
    recommendations = RecommendationSerializer(many=True)
    similar_users = SimilarUserSerializer(many=True)


class RecommendationsApi(APIView):
    class FilterSerializer(QueryFilterSerializer):
        project = serializers.SlugField(help_text="A project's slug.")
        user = TextField(max_length=200, min_length=1, help_text="A session's user_name.")
        days = serializers.IntegerField(default=DEFAULT_DAYS, min_value=1, max_value=MAX_DAYS)
        at = AwareDateTimeField(
            required=False, help_text="Window end; default: the worker's stored 90 days, or now."
        )
        limit = serializers.IntegerField(default=LIMIT, min_value=1, max_value=MAX_LIMIT)

    @extend_schema(
        summary="Skills to try next for a user, and similar users",
        description="Item-item cosine on the binary user × completed-skill matrix, popularity "
        "by Wilson lower bound as the fallback (see docs/analytics.md).",
        parameters=[FilterSerializer],
        responses={200: RecommendationsSerializer, **errors(400, 401, 404)},
    )
    def get(self, request):
        return Response(recommendations_body(request.user, request.query_params))


def recommendations_body(user, query) -> dict:
    """Recommendations for the user and project of `query` (validated here): the REST
    endpoint's body, also the MCP `recommendations` tool's (integrations/mcp)."""
    given = RecommendationsApi.FilterSerializer(data=query)
    given.is_valid(raise_exception=True)
    data = given.validated_data
    project = project_or_404(user, data["project"])
    body = recommendations(project, data["user"], data["days"], data.get("at"), data["limit"])
    return RecommendationsSerializer(body).data
