"""Experiments: create (draft), start, stop, list, detail, results and assignment.

A write key (or a member's login) for every write, any key of the project for reads. An
experiment is named by its key, unique per project: a key sees its own project's; a logged-in
user names the project with `?project=SLUG` when the key is used in several of theirs.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.experiments.cache import current_results
from analytics.experiments.definitions import METRIC_NAMES
from analytics.experiments.exposure import expose
from analytics.experiments.results import DECISIONS
from analytics.experiments.validation import (
    MAX_ARM_KEY,
    MAX_ARMS,
    MAX_CONTEXT,
    arms_problem,
    metrics_problem,
)
from analytics.models import Experiment, ExperimentStateError
from tracking.api.bodies import validated_body
from tracking.api.fields import TextField
from tracking.api.filters import QueryFilterSerializer
from tracking.api.permissions import ReadOnlyKeyForSafeMethods
from tracking.api.schema import errors
from tracking.api.scope import filtered, visible, write_project
from tracking.models import Project

UNIT_ID_MAX = 200


class ExperimentSerializer(serializers.ModelSerializer):
    project: serializers.SlugRelatedField[Project] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    assignment_rule = serializers.CharField(read_only=True)

    class Meta:
        model = Experiment
        fields = [
            "project", "key", "name", "hypothesis", "status", "unit", "arms", "metrics",
            "guardrail_metrics", "planned_units", "created_at", "started_at", "stopped_at",
            "assignment_rule",
        ]  # fmt: skip
        read_only_fields = fields


@extend_schema_serializer(component_name="ExperimentArm")
class ArmSerializer(serializers.Serializer):
    key = TextField(min_length=1, max_length=MAX_ARM_KEY)
    weight = serializers.FloatField(min_value=0, help_text="Above 0; the weights sum to 1.")
    context = TextField(  # type: ignore[assignment]  # a field, not Serializer.context
        max_length=MAX_CONTEXT,
        required=False,
        allow_blank=True,
        default="",
        help_text="Given to the agent (SessionStart additionalContext) in this arm.",
    )


@extend_schema_serializer(component_name="ExperimentCreate")
class ExperimentCreateSerializer(serializers.Serializer):
    project = serializers.SlugField(
        required=False, help_text="Required when logged in; a key writes to its own project."
    )
    key = serializers.SlugField(max_length=100, help_text="Unique in the project; the hash seed.")
    name = TextField(min_length=1, max_length=200)
    hypothesis = TextField(max_length=5000, required=False, allow_blank=True, default="")
    unit = serializers.ChoiceField(choices=Experiment.UNITS)
    arms = serializers.ListField(child=ArmSerializer(), min_length=2, max_length=MAX_ARMS)
    metrics = serializers.ListField(
        child=serializers.ChoiceField(choices=METRIC_NAMES), min_length=1, max_length=10
    )
    guardrail_metrics = serializers.ListField(
        child=serializers.ChoiceField(choices=METRIC_NAMES),
        required=False,
        default=list,
        max_length=10,
    )
    planned_units = serializers.IntegerField(
        min_value=2, max_value=1_000_000_000, required=False, allow_null=True, default=None
    )

    def validate_arms(self, arms: list) -> list:
        problem = arms_problem([dict(arm) for arm in arms])
        if problem is not None:
            raise ValidationError(problem)
        return arms

    def validate(self, data: dict) -> dict:
        problem = metrics_problem(data["metrics"], data["guardrail_metrics"])
        if problem is not None:
            raise ValidationError({"guardrail_metrics": [problem]})
        return data


class ProjectQuery(QueryFilterSerializer):
    project = serializers.SlugField(
        required=False, help_text="A project's slug: needed only when several have the key."
    )


def experiment_or_404(request, key: str) -> Experiment:
    """The visible experiment with this key (in `?project=` when given); 404 alike for unknown
    and invisible ones."""
    return visible_experiment(request.user, key, request.query_params)


def visible_experiment(user, key: str, query) -> Experiment:
    """`experiment_or_404` for `user` and the `project` of `query` (validated here)."""
    given = ProjectQuery(data=query)
    given.is_valid(raise_exception=True)
    rows = visible(Experiment.objects.select_related("project"), user).filter(key=key)
    slug = given.validated_data.get("project")
    if slug:
        rows = rows.filter(project__slug=slug)
    found = list(rows[:2])
    if not found:
        raise NotFound(f"No experiment {key!r}.")
    if len(found) > 1:
        raise ValidationError({"project": ["Several of your projects have this key: name one."]})
    return found[0]


class ExperimentListApi(APIView):
    permission_classes = [ReadOnlyKeyForSafeMethods]
    parser_classes = [JSONParser]

    class FilterSerializer(QueryFilterSerializer):
        project = serializers.SlugField(required=False, help_text="A project's slug.")
        status = serializers.ChoiceField(choices=Experiment.STATUSES, required=False)

    @extend_schema(
        summary="Experiments, newest first",
        parameters=[FilterSerializer],
        responses={200: ExperimentSerializer(many=True), **errors(400, 401, 404)},
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        rows = filtered(
            Experiment.objects.select_related("project"),
            request.user,
            filters.validated_data,
            {"status": "status"},
        )
        return Response(ExperimentSerializer(rows[:500], many=True).data)

    @extend_schema(
        summary="Create an experiment (in draft)",
        request=ExperimentCreateSerializer,
        responses={201: ExperimentSerializer, **errors(400, 401, 403, 404, 413, 415)},
    )
    def post(self, request):
        body = validated_body(ExperimentCreateSerializer, request)
        project = write_project(request.user, body.pop("project", None))
        body["arms"] = [dict(arm) for arm in body["arms"]]
        taken = ValidationError({"key": [f"Project {project.slug} has this key already."]})
        if Experiment.objects.filter(project=project, key=body["key"]).exists():
            raise taken
        try:
            with transaction.atomic():
                experiment = Experiment.objects.create(project=project, **body)
        except IntegrityError:  # created meanwhile by a concurrent request
            raise taken from None
        return Response(ExperimentSerializer(experiment).data, status=status.HTTP_201_CREATED)


class ExperimentDetailApi(APIView):
    @extend_schema(
        summary="One experiment",
        parameters=[ProjectQuery],
        responses={200: ExperimentSerializer, **errors(400, 401, 404)},
    )
    def get(self, request, key: str):
        return Response(ExperimentSerializer(experiment_or_404(request, key)).data)


class _TransitionApi(APIView):
    permission_classes = [ReadOnlyKeyForSafeMethods]
    transition = ""

    def post(self, request, key: str):
        experiment = experiment_or_404(request, key)
        try:
            getattr(experiment, self.transition)(timezone.now())
        except ExperimentStateError as exc:
            raise ValidationError({"status": [str(exc)]}) from None
        return Response(ExperimentSerializer(experiment).data)


class ExperimentStartApi(_TransitionApi):
    transition = "start"

    @extend_schema(
        summary="Start an experiment (draft → running)",
        parameters=[ProjectQuery],
        request=None,
        responses={200: ExperimentSerializer, **errors(400, 401, 403, 404)},
    )
    def post(self, request, key: str):
        return super().post(request, key)


class ExperimentStopApi(_TransitionApi):
    transition = "stop"

    @extend_schema(
        summary="Stop an experiment (running → stopped)",
        parameters=[ProjectQuery],
        request=None,
        responses={200: ExperimentSerializer, **errors(400, 401, 403, 404)},
    )
    def post(self, request, key: str):
        return super().post(request, key)


DECISION = serializers.ChoiceField(choices=DECISIONS)


class ArmResultSerializer(serializers.Serializer):
    variant = serializers.CharField()
    units = serializers.IntegerField(help_text="Units exposed to the arm.")
    n = serializers.IntegerField(help_text="Units with data for the metric.")
    units_without_data = serializers.IntegerField()
    numerator = serializers.FloatField()
    denominator = serializers.FloatField()
    mean = serializers.FloatField(allow_null=True)
    ci_low = serializers.FloatField(allow_null=True)
    ci_high = serializers.FloatField(allow_null=True)
    ci_method = serializers.ChoiceField(choices=["wilson", "t"], allow_null=True)


class ComparisonSerializer(serializers.Serializer):
    variant = serializers.CharField()
    baseline = serializers.CharField()
    abs_diff = serializers.FloatField(allow_null=True)
    abs_ci_low = serializers.FloatField(allow_null=True)
    abs_ci_high = serializers.FloatField(allow_null=True)
    abs_p_value = serializers.FloatField(allow_null=True, help_text="Welch, the difference.")
    rel_lift = serializers.FloatField(allow_null=True)
    rel_ci_low = serializers.FloatField(allow_null=True)
    rel_ci_high = serializers.FloatField(allow_null=True)
    p_value = serializers.FloatField(allow_null=True, help_text="Welch, the relative lift.")
    q_value = serializers.FloatField(allow_null=True, help_text="BH over goals; null: guardrail.")
    df = serializers.FloatField(allow_null=True)
    chance_to_win = serializers.FloatField(allow_null=True)
    mde_at_current_n = serializers.FloatField(allow_null=True)
    test = serializers.CharField(allow_null=True)
    alpha = serializers.FloatField()
    effect_size = serializers.FloatField(allow_null=True)
    effect_size_kind = serializers.ChoiceField(choices=["cohens_h", "cohens_d"], allow_null=True)
    enough_data = serializers.BooleanField()
    srm_p_value = serializers.FloatField(allow_null=True)
    srm_flag = serializers.BooleanField()
    sequential = serializers.BooleanField()
    decision = DECISION


class MetricResultSerializer(serializers.Serializer):
    metric = serializers.ChoiceField(choices=METRIC_NAMES)
    label = serializers.CharField()  # type: ignore[assignment]  # a field, not Field.label
    role = serializers.ChoiceField(choices=["goal", "guardrail"])
    kind = serializers.CharField(help_text="ratio or mean")
    higher_is_better = serializers.BooleanField()
    arms = ArmResultSerializer(many=True)
    comparisons = ComparisonSerializer(many=True)


class ArmUnitsSerializer(serializers.Serializer):
    variant = serializers.CharField()
    units = serializers.IntegerField()
    weight = serializers.FloatField()


class ResultsSerializer(serializers.Serializer):
    """Documents the results object (analytics.experiments.results); not used to render it."""

    experiment = serializers.CharField()
    project = serializers.CharField()
    status = serializers.CharField(help_text="draft, running or stopped")
    unit = serializers.CharField(help_text="session or user")
    method = serializers.CharField()
    computed_at = serializers.DateTimeField()
    window_start = serializers.DateTimeField(allow_null=True)
    window_end = serializers.DateTimeField()
    units = ArmUnitsSerializer(many=True)
    n = serializers.IntegerField()
    srm_p_value = serializers.FloatField(allow_null=True)
    srm_flag = serializers.BooleanField()
    sequential = serializers.BooleanField()
    n_star = serializers.IntegerField(allow_null=True)
    decision = DECISION
    metrics = MetricResultSerializer(many=True)


class ExperimentResultsApi(APIView):
    @extend_schema(
        summary="An experiment's results per metric",
        description="Per arm and per comparison with the control; see docs/api.md.",
        parameters=[ProjectQuery],
        responses={200: ResultsSerializer, **errors(400, 401, 404)},
    )
    def get(self, request, key: str):
        return Response(experiment_results_body(request.user, key, request.query_params))


def experiment_results_body(user, key: str, query) -> dict:
    """The results of experiment `key` (in the `project` of `query`, validated here): the REST
    endpoint's body, also the MCP `experiment_results` tool's (integrations/mcp)."""
    return current_results(visible_experiment(user, key, query))


class AssignmentSerializer(serializers.Serializer):
    arm = serializers.CharField()
    context = serializers.CharField()  # type: ignore[assignment]  # a field, as above
    hash = serializers.FloatField(help_text="Hash v2 of (experiment key, unit), in [0, 1).")
    first_exposed_at = serializers.DateTimeField()


class ExperimentAssignmentApi(APIView):
    """Recording an exposure is idempotent (the first one's time is kept), so a read key may
    ask: an agent or script that only reads its arm holds no write key."""

    class QuerySerializer(ProjectQuery):
        unit = TextField(min_length=1, max_length=UNIT_ID_MAX, help_text="The unit's id.")

    @extend_schema(
        summary="A unit's arm, recording its exposure",
        parameters=[QuerySerializer],
        responses={200: AssignmentSerializer, **errors(400, 401, 404)},
    )
    def get(self, request, key: str):
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        experiment = experiment_or_404(request, key)
        assignment = expose(experiment, query.validated_data["unit"], timezone.now())
        if assignment is None:
            raise ValidationError({"status": [f"The experiment is {experiment.status}."]})
        return Response(AssignmentSerializer(assignment).data)
