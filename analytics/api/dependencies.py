"""Skills used together with a skill (analytics/dependencies.py)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.api.skill_path import SKILL_PATH, skill_from_path
from analytics.dependencies import DEFAULT_DAYS, related_skills
from tracking.api.fields import AwareDateTimeField
from tracking.api.filters import QueryFilterSerializer
from tracking.api.schema import errors
from tracking.api.scope import project_or_404

MAX_DAYS = 366


class RelatedSerializer(serializers.Serializer):
    skill = serializers.CharField(help_text="The other skill (b); a is the skill asked about.")
    count_a = serializers.IntegerField(help_text="Sessions that used the skill asked about.")
    count_b = serializers.IntegerField(help_text="Sessions that used the other skill.")
    count_ab = serializers.IntegerField(help_text="Sessions that used both.")
    support = serializers.FloatField(help_text="count_ab / n_sessions.")
    confidence_ab = serializers.FloatField(help_text="count_ab / count_a.")
    confidence_ba = serializers.FloatField(help_text="count_ab / count_b.")
    lift = serializers.FloatField(help_text="count_ab · n_sessions / (count_a · count_b).")
    leverage = serializers.FloatField()
    conviction_ab = serializers.FloatField(allow_null=True, help_text="null: infinite.")
    conviction_ba = serializers.FloatField(allow_null=True, help_text="null: infinite.")
    jaccard = serializers.FloatField(help_text="On the distinct sets of sessions.")
    p_value = serializers.FloatField(help_text="One-sided Fisher exact.")
    q_value = serializers.FloatField(help_text="Benjamini–Hochberg over the pass's pairs.")
    band = serializers.CharField(help_text="strong / moderate / weak, empty unless q < 0.05.")


class RelatedSkillsSerializer(serializers.Serializer):
    skill = serializers.CharField()
    days = serializers.IntegerField()
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    n_sessions = serializers.IntegerField(help_text="N: sessions started in the window.")
    pairs_tested = serializers.IntegerField(help_text="Pairs in the BH family.")
    min_sessions = serializers.IntegerField()
    min_count = serializers.IntegerField()
    computed_at = serializers.DateTimeField()
    method = serializers.CharField()
    origin = serializers.ChoiceField(
        choices=["stored", "computed"], help_text="The worker's pass, or computed for `at`."
    )
    related = RelatedSerializer(many=True)


class RelatedSkillsApi(APIView):
    class FilterSerializer(QueryFilterSerializer):
        project = serializers.SlugField(help_text="A project's slug.")
        days = serializers.IntegerField(default=DEFAULT_DAYS, min_value=1, max_value=MAX_DAYS)
        at = AwareDateTimeField(
            required=False,
            help_text="Window end (floored to the hour); default: the worker's stored pass.",
        )

    @extend_schema(
        summary="Skills used in the same sessions as a skill: lift, Fisher p, BH q",
        description="Sessions that started in the `days` before `at` are the transactions "
        "(see docs/analytics.md). Pairs with N ≥ 50 and count_ab ≥ 5 only.",
        parameters=[
            FilterSerializer,
            SKILL_PATH,
        ],
        responses={200: RelatedSkillsSerializer, **errors(400, 401, 404)},
    )
    def get(self, request, skill: str):
        return Response(related_skills_body(request.user, skill, request.query_params))


def related_skills_body(user, skill: str, query) -> dict:
    """The skills related to `skill` in the project of `query` (validated here): the REST
    endpoint's body, also the MCP `related_skills` tool's (integrations/mcp)."""
    name = skill_from_path(skill)
    given = RelatedSkillsApi.FilterSerializer(data=query)
    given.is_valid(raise_exception=True)
    project = project_or_404(user, given.validated_data["project"])
    body = related_skills(
        project,
        name,
        given.validated_data["days"],
        given.validated_data.get("at"),
    )
    return RelatedSkillsSerializer(body).data
