"""`POST /api/v1/ide/suggestions`: skills to use next on the file an IDE is editing."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.ide.suggestions import suggest
from tracking.api.fields import TextField
from tracking.api.schema import errors
from tracking.api.scope import project_or_404
from tracking.models import Session


class SuggestionRequestSerializer(serializers.Serializer):
    project = serializers.SlugField()
    file_path = TextField(
        min_length=1, max_length=4096, help_text="Read for its name only; never opened."
    )
    language = TextField(max_length=50, required=False, allow_blank=True, default="")
    line = serializers.IntegerField(min_value=1, max_value=10**9, required=False, allow_null=True)
    selection = TextField(max_length=20000, required=False, allow_blank=True, default="")
    session = TextField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text="The agent's session (its external id, e.g. Claude Code's session_id): the "
        "skills it used so far rank their companions higher. Unknown: none used yet.",
    )


class PairSerializer(serializers.Serializer):
    anchor = serializers.CharField(help_text="The skill it goes with.")
    anchor_is = serializers.ChoiceField(
        ["session", "history"],
        help_text="session: the session used the anchor; history: the anchor is one of the "
        "skills most used after such edits.",
    )
    lift = serializers.FloatField()
    sessions_together = serializers.IntegerField(help_text="n_AB of the stored pass.")
    sessions = serializers.IntegerField(help_text="N of the stored pass.")
    q_value = serializers.FloatField(help_text="Benjamini–Hochberg q, < 0.05.")
    days = serializers.IntegerField()


class SuggestionSerializer(serializers.Serializer):
    skill = serializers.CharField()
    why = serializers.CharField()
    completion_rate = serializers.FloatField(allow_null=True, help_text="0–1; null when n = 0.")
    completion_rate_low = serializers.FloatField(allow_null=True, help_text="Wilson 95 %.")
    completion_rate_high = serializers.FloatField(allow_null=True)
    n = serializers.IntegerField(help_text="Calls with a known outcome the rate is over.")
    median_duration_s = serializers.FloatField(allow_null=True)
    confidence = serializers.FloatField(
        help_text="P(completes): the predictor's p_success where the project has an active "
        "model, otherwise the smoothed rate (x + 1)/(n + 2)."
    )
    confidence_source = serializers.ChoiceField(["predictor", "smoothed_rate"])
    basis = serializers.ChoiceField(["history", "dependency", "rule"])
    score = serializers.FloatField(
        allow_null=True,
        help_text="history: share of the edits followed × the strongest pair's lift (1 without "
        "one); null for dependency and rule suggestions, ranked after.",
    )
    follows = serializers.IntegerField(help_text="Edits of such files the skill followed.")
    edits = serializers.IntegerField(help_text="Edits of such files counted (newest 500).")
    dependency = PairSerializer(
        allow_null=True, help_text="The strongest significant pair with an anchor, if any."
    )


class IdeSuggestionsApi(APIView):
    parser_classes = [JSONParser]  # what IDEs and curl send; the schema then says so

    @extend_schema(
        summary="Suggest skills for the file being edited",
        description="From the project's history: skills used within 10 min after edits of "
        "files with the same extension and test-ness, weighted by the stored dependencies "
        "(significant lift) with the skills most used after such edits or already used by "
        "the session; skills that only go with those come next (`basis: dependency`). "
        "Without either, rules on the language and selection, marked `basis: rule`. The "
        "rule in full: docs/integrations.md. Any key of the project may ask.",
        request=SuggestionRequestSerializer,
        responses={200: SuggestionSerializer(many=True), **errors(400, 401, 404)},
        examples=[
            OpenApiExample(
                "A test file",
                request_only=True,
                value={
                    "project": "alpha",
                    "file_path": "tests/test_api.py",
                    "language": "python",
                    "line": 42,
                    "selection": "def test_it_refuses",
                    "session": "4d5611e5-241a-462a-8d15-5122611a9569",
                },
            )  # fmt: skip
        ],
    )
    def post(self, request):
        form = SuggestionRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        project = project_or_404(request.user, data["project"])
        session = None
        if data["session"]:
            session = Session.objects.filter(project=project, external_id=data["session"]).first()
        found = suggest(
            project,
            data["file_path"],
            language=data["language"],
            selection=data["selection"],
            session=session,
        )
        return Response([s.as_dict() for s in found])
