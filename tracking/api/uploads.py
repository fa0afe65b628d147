"""`POST /api/v1/checkpoints`: a CI checkpoint from uploaded artefacts (multipart).

Fields: `commit`, `branch`, `kind` (default ci), `session` (external id; an unknown one starts
that session), and files `coverage`, `junit`, `ruff`, `bandit`, `radon`, `mypy` (at least one).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from quality import gates
from quality.collectors.git import GitInfo
from quality.measure import ARTEFACT_COLLECTORS, Artefacts, measure_artefacts
from quality.report import render_json
from tracking.api.checkpoints import CheckpointListApi
from tracking.api.limits import PayloadTooLarge, check_length
from tracking.api.permissions import HasWriteKey
from tracking.checkpoints import checkpoint_record
from tracking.models import Checkpoint
from tracking.reports import report_data
from tracking.sessions import SessionStart, session_start

FILE_FIELDS = tuple(ARTEFACT_COLLECTORS)


class CheckpointUploadSerializer(serializers.Serializer):
    commit = serializers.RegexField(r"^[0-9a-fA-F]{4,64}$", required=False, allow_blank=True)
    branch = serializers.CharField(required=False, allow_blank=True, max_length=200)
    kind = serializers.ChoiceField(choices=Checkpoint.KINDS, default="ci")
    session = serializers.CharField(required=False, allow_blank=True, max_length=200)
    coverage = serializers.FileField(required=False, help_text="coverage.json or Cobertura XML")
    junit = serializers.FileField(required=False, help_text="JUnit XML")
    ruff = serializers.FileField(required=False, help_text="ruff check --output-format json")
    bandit = serializers.FileField(required=False, help_text="bandit -f json")
    radon = serializers.FileField(required=False, help_text="radon cc -j")
    mypy = serializers.FileField(required=False, help_text="mypy -O json")

    def validate(self, attrs):
        if not any(name in attrs for name in FILE_FIELDS):
            raise ValidationError(f"Upload at least one artefact: {', '.join(FILE_FIELDS)}.")
        return attrs


class CheckpointListCreateApi(CheckpointListApi):
    """The checkpoint collection: GET lists (read keys and users), POST records (write key)."""

    parser_classes = [MultiPartParser]

    def get_permissions(self):
        if self.request.method == "POST":
            return [HasWriteKey()]
        return super().get_permissions()

    @extend_schema(
        summary="Record a CI checkpoint from uploaded artefacts",
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
            400: OpenApiResponse(description="Bad metadata, no artefact, or a bad gate config."),
            413: OpenApiResponse(description="Larger than UPLOAD_MAX_BYTES."),
        },
    )
    def post(self, request):
        # Multipart files are streamed to disk: a chunked upload is limited per file in _save.
        check_length(request, settings.UPLOAD_MAX_BYTES, "Upload")
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
