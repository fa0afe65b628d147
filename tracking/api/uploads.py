"""`POST /api/v1/checkpoints`: a CI checkpoint from uploaded artefacts (multipart).

Fields: `commit`, `branch`, `kind` (default ci), `session` (external id; an unknown one starts
that session), and files `coverage`, `junit`, `ruff`, `bandit`, `radon`, `mypy` (at least one).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.conf import settings
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from quality import gates
from quality.collectors.git import GitInfo
from quality.measure import ARTEFACT_COLLECTORS, Artefacts, measure_artefacts
from quality.report import render_json
from tracking.api.checkpoints import CheckpointListApi
from tracking.api.limits import PayloadTooLarge, check_length, length_chunked_body
from tracking.api.parsers import StrictMultiPartParser
from tracking.api.permissions import HasWriteKey
from tracking.api.schema import RequiredBodySchema, errors
from tracking.checkpoints import checkpoint_record
from tracking.models import Checkpoint
from tracking.reports import report_data
from tracking.sessions import SessionStart, session_start

FILE_FIELDS = tuple(ARTEFACT_COLLECTORS)


@extend_schema_field(OpenApiTypes.BINARY)
class ArtefactField(serializers.FileField):
    """An uploaded artefact: a file part of the form (the schema's `format: binary`)."""


class CheckpointUploadSerializer(serializers.Serializer):
    commit = serializers.RegexField(r"^[0-9a-fA-F]{4,64}$", required=False, allow_blank=True)
    branch = serializers.CharField(required=False, allow_blank=True, max_length=200)
    kind = serializers.ChoiceField(choices=Checkpoint.KINDS, default="ci")
    session = serializers.CharField(required=False, allow_blank=True, max_length=200)
    coverage = ArtefactField(required=False, help_text="coverage.json or Cobertura XML")
    junit = ArtefactField(required=False, help_text="JUnit XML")
    ruff = ArtefactField(required=False, help_text="ruff check --output-format json")
    bandit = ArtefactField(required=False, help_text="bandit -f json")
    radon = ArtefactField(required=False, help_text="radon cc -j")
    mypy = ArtefactField(required=False, help_text="mypy -O json")

    def validate(self, attrs):
        if not any(name in attrs for name in FILE_FIELDS):
            raise ValidationError(f"Upload at least one artefact: {', '.join(FILE_FIELDS)}.")
        return attrs


class CheckpointUploadScheme(OpenApiSerializerExtension):
    """The form's schema says what `validate` checks: at least one artefact file."""

    target_class = CheckpointUploadSerializer

    def map_serializer(self, auto_schema, direction) -> dict:
        schema = auto_schema._map_basic_serializer(self.target, direction)
        schema["anyOf"] = [{"required": [name]} for name in FILE_FIELDS]
        return schema


class CheckpointListCreateApi(CheckpointListApi):
    """The checkpoint collection: GET lists (read keys and users), POST records (write key)."""

    parser_classes = [StrictMultiPartParser]
    schema = RequiredBodySchema()

    def get_permissions(self):
        if self.request.method == "POST":
            return [HasWriteKey()]
        return super().get_permissions()

    @extend_schema(
        summary="Record a CI checkpoint from uploaded artefacts",
        description="400: bad metadata, no artefact, a bad gate config or malformed multipart. "
        f"413: a body or file over UPLOAD_MAX_BYTES ({settings.UPLOAD_MAX_BYTES} bytes), chunked "
        "or not.",
        request={"multipart/form-data": CheckpointUploadSerializer},
        responses={
            201: inline_serializer(
                "CheckpointReport",
                {
                    "checkpoint": serializers.IntegerField(),
                    "score": serializers.FloatField(allow_null=True),
                    "stars": serializers.IntegerField(allow_null=True),
                    "label": serializers.CharField(),
                    "gates": serializers.DictField(),
                    "measurements": serializers.DictField(),
                    "recommendations": serializers.ListField(child=serializers.DictField()),
                },
            ),
            **errors(400, 401, 403, 413),
        },
    )
    def post(self, request):
        # Multipart files are streamed to disk; a chunked upload is measured first (bounded).
        check_length(request, settings.UPLOAD_MAX_BYTES, "Upload")
        length_chunked_body(request, settings.UPLOAD_MAX_BYTES, "Upload")
        form = CheckpointUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        project = request.user.project
        try:
            gates.validate(project.gate_config)
        except ValueError as exc:
            raise ValidationError({"gate_config": [str(exc)]}) from None
        with tempfile.TemporaryDirectory(prefix="cairn-upload-") as tmp:
            root = Path(tmp)
            paths = {}
            for name in FILE_FIELDS:
                upload = data.get(name)
                if upload is not None:
                    paths[name] = _save(upload, root / name)
            readings = measure_artefacts(Artefacts(**paths), root=root, missing="not uploaded")
        session = None
        if data.get("session"):
            start = SessionStart(
                external_id=data["session"], branch=data.get("branch", ""),
                start_commit=data.get("commit", ""),
            )  # fmt: skip
            session, _ = session_start(project=project, start=start)
        git = GitInfo(head=data.get("commit", ""), branch=data.get("branch", ""))
        checkpoint = checkpoint_record(
            project=project, readings=readings, git=git, session=session, kind=data["kind"]
        )
        return Response(render_json(report_data(checkpoint)), status=status.HTTP_201_CREATED)


def _save(upload, folder: Path) -> Path:
    """The upload as a file named like the original (the name is what reports show)."""
    if upload.size > settings.UPLOAD_MAX_BYTES:
        raise PayloadTooLarge(f"{upload.name} is larger than {settings.UPLOAD_MAX_BYTES} bytes.")
    folder.mkdir()
    name = Path(upload.name or folder.name).name or folder.name
    path = folder / name
    with path.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return path
