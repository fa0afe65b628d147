"""The `<skill>` of a skill's endpoints (`skills/<skill>/trend`, `…/related`): one schema entry
and one validation for both, so they refuse the same names with the same message."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from tracking.api.fields import TextField

SKILL_PATH = OpenApiParameter(
    "skill",
    {"type": "string", "minLength": 1, "maxLength": 200},
    OpenApiParameter.PATH,
    description="A skill's name.",
)


class SkillPathSerializer(serializers.Serializer):
    skill = TextField(max_length=200)


def skill_from_path(skill: str) -> str:
    """The path's skill name, validated (a 400 naming `skill` otherwise)."""
    path = SkillPathSerializer(data={"skill": skill})
    path.is_valid(raise_exception=True)
    return path.validated_data["skill"]
