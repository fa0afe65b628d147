"""The skills answer is built without DRF's serializer (analytics/api/skills.py, `rendered`,
for speed) and must stay exactly what the documented serializer gives: every field, nested
object, null and time, with the baselines across projects and without."""

from __future__ import annotations

from datetime import datetime

import pytest

from analytics.api.skills import SkillStatsOutputSerializer, rendered
from analytics.skills import skill_baselines
from tests.analytics.test_skill_baselines import baselines  # noqa: F401 - the fixture
from tracking.models import Project

pytestmark = pytest.mark.django_db
SINCE = datetime.fromisoformat("2026-11-20T00:00:00+00:00")
UNTIL = datetime.fromisoformat("2026-11-21T00:00:00+00:00")


@pytest.mark.parametrize("across", [True, False])
def test_the_answer_is_the_serializers(baselines, project, across):  # noqa: F811
    every = list(Project.objects.order_by("pk"))
    assert len(every) == 2
    stats = skill_baselines([project], SINCE, UNTIL, across=every if across else None)
    assert {s.skill for s in stats} == {"pytest", "ruff", "mypy"}
    assert any(s.duration_p50 is None for s in stats) or any(
        s.effectiveness_percentile is None for s in stats
    )
    body = {"project": "alpha", "window_start": SINCE, "window_end": UNTIL, "skills": stats}
    expected = SkillStatsOutputSerializer(body).data
    got = rendered("alpha", SINCE, UNTIL, stats)
    assert got == expected
    assert got["window_start"] == "2026-11-20T00:00:00Z"
    pytest_row = next(row for row in got["skills"] if row["skill"] == "pytest")
    if across:
        assert pytest_row["across_projects"]["projects"] == 2
        assert pytest_row["across_projects"]["n"] == 21
    else:
        assert pytest_row["across_projects"] is None
