"""Quality Score V2: components from measurements, unmeasured parts left out and scaled."""

from __future__ import annotations

import pytest

from quality import score
from quality.observations import Observed


def obs(**values) -> dict:
    return {k.replace("__", "."): Observed(k.replace("__", "."), v) for k, v in values.items()}


FULL = obs(
    coverage__line_percent=80.0,  # 12 of 15
    lint__findings__high=1,
    lint__findings__medium=2,
    lint__findings__low=7,  # 100 − 25 = 75 % of 10 = 7.5
    types__annotation_percent=50.0,  # 5 of 10
    complexity__mean=7.0,  # 80 % of 5 = 4
    project__has_pyproject=1,
    project__has_lockfile=1,  # 5
    git__is_repo=1,
    git__commits_total=3,  # 3
    git__lockfile_age_days=45.0,  # 3
    tests__test_files=12,
    tests__has_conftest=0,  # 3
    docs__readme=1,
    docs__pages=0,  # 2
    project__ci_files=1,  # 3
    git__commits_30d=12,  # 4
    git__conventional_share=0.9,  # 5
    git__issue_ref_share=0.3,  # 3
    git__feature_branches=0,  # 1
    security__findings__high=0,
    security__findings__medium=0,
    security__findings__low=5,  # 95 % of 5 = 4.75
    security__secret_files=1,
    security__env_ignored=1,  # 60 % of 5 = 3
)


def test_it_sums_the_components_when_everything_is_measured():
    result = score.compute(FULL)
    assert result.points_measured == 100
    assert result.part("code_quality") == (28.5, 40, 40)
    assert result.part("project_health") == (19.0, 30, 30)
    assert result.part("dev_velocity") == (13.0, 20, 20)
    assert result.part("security") == (7.75, 10, 10)
    assert result.total == 68.2  # 68.25 → one decimal
    assert (result.stars, result.label) == (3, "Good")


def test_it_leaves_out_what_was_not_measured_and_scales_the_total():
    partial = {k: v for k, v in FULL.items() if not k.startswith(("coverage.", "git."))}
    partial["coverage.line_percent"] = Observed("coverage.line_percent", None, reason="no file")
    result = score.compute(partial)
    missing = {c.name for c in result.components if c.earned is None}
    assert missing == {
        "coverage", "version control", "dependency freshness", "commit frequency",
        "conventional commits", "issue references", "branch practice",
    }  # fmt: skip
    assert result.points_measured == 100 - 15 - 5 - 5 - 20
    earned = 7.5 + 5 + 4 + 5 + 3 + 2 + 3 + 7.75
    assert result.total == round(100 * earned / 55, 1)
    assert result.part("dev_velocity") == (None, 0, 20)


def test_it_counts_a_missing_lockfile_as_measured_zero_freshness():
    result = score.compute(obs(project__has_lockfile=0))
    freshness = next(c for c in result.components if c.name == "dependency freshness")
    assert freshness.earned == 0
    assert result.points_measured == 5
    assert result.total == 0.0


def test_it_has_no_total_when_nothing_was_measured():
    result = score.compute({})
    assert (result.total, result.points_measured, result.stars) == (None, 0, None)
    assert result.label == "Not measured"


@pytest.mark.parametrize(
    ("total", "stars", "label"),
    [
        (100, 5, "Excellent"),
        (90, 5, "Excellent"),
        (80, 4, "Excellent"),
        (79.9, 4, "Good"),
        (60, 3, "Good"),
        (50, 3, "Needs attention"),
        (49.9, 2, "Needs attention"),
        (9.9, 0, "Needs attention"),
        (0, 0, "Needs attention"),
    ],
)
def test_it_maps_totals_to_stars_and_labels(total, stars, label):
    assert score.stars(total) == stars
    assert score.label(total) == label


def test_it_follows_the_complexity_curve():
    assert score._complexity(5) == 1.0
    assert score._complexity(7.5) == 0.75
    assert score._complexity(10) == 0.5
    assert score._complexity(12) == 0.3
    assert score._complexity(20) == 0.0
