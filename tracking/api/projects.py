"""Projects: `GET /api/v1/projects`, `GET /api/v1/projects/<slug>`."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from tracking.api.schema import errors
from tracking.api.scope import project_or_404
from tracking.auth import visible_projects
from tracking.models import Project


class ProjectSerializer(serializers.ModelSerializer):
    class Meta:
        model = Project
        fields = ["slug", "name", "repository_url", "default_branch", "created_at"]


class ProjectListApi(APIView):
    OutputSerializer = ProjectSerializer

    @extend_schema(
        summary="Projects you may see", responses={200: ProjectSerializer(many=True), **errors(401)}
    )
    def get(self, request):
        projects = visible_projects(request.user)
        return Response(self.OutputSerializer(projects, many=True).data)


class ProjectDetailApi(APIView):
    OutputSerializer = ProjectSerializer

    @extend_schema(summary="One project", responses={200: ProjectSerializer, **errors(401, 404)})
    def get(self, request, slug: str):
        project = project_or_404(request.user, slug)
        return Response(self.OutputSerializer(project).data)
