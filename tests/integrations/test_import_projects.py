"""`import_transcripts` names the projects it used and created, in its summary and its JSON.

On the shared data set, whose sessions worked in temporary folders: without `--project` or a
path rule each folder becomes a project, and the user must be told which, and how to choose.
"""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from integrations.models import ProjectRule
from tracking.models import Project

pytestmark = pytest.mark.django_db

# The projects the data set's sessions map to, with their session counts.
FOLDER_PROJECTS = {
    "spotter": 2,
    "spotter-dov": 3,
    "tmp74wiyiny": 1,
    "tmpcy4oc572": 1,
    "tmphwsm9u6c": 1,
    "tmpjzzcbyb3": 1,
    "tmpqwh7888i": 1,
    "tmpw6sk2trg": 1,
    "tmpyyfcniwy": 1,
}


def run(*args: str) -> str:
    out = StringIO()
    call_command("import_transcripts", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_text_summary_names_the_projects_created(transcripts_copy):
    lines = run(str(transcripts_copy)).splitlines()
    used = ", ".join(f"{slug} ({n})" for slug, n in FOLDER_PROJECTS.items())
    assert f"Projects used: 9: {used}" in lines
    assert "Projects created: 9: " + ", ".join(FOLDER_PROJECTS) in lines
    hint = "\n".join(lines)
    assert "--project SLUG" in hint and "path rule" in hint and "'Merge the selected" in hint
    assert sorted(Project.objects.values_list("slug", flat=True)) == sorted(FOLDER_PROJECTS)


def test_json_names_the_projects_created_and_used(transcripts_copy):
    data = json.loads(run(str(transcripts_copy), "--json"))
    assert {p["slug"]: (p["created"], p["sessions"]) for p in data["projects"]} == {
        slug: (True, n) for slug, n in FOLDER_PROJECTS.items()
    }
    assert sum(p["sessions"] for p in data["projects"]) == len(data["sessions"]) == 12


def test_an_existing_project_is_used_not_created(transcripts_copy):
    target = Project.objects.create(slug="mine", name="Mine")
    lines = run(str(transcripts_copy), "--project", "mine").splitlines()
    assert "Projects used: 1: mine (12)" in lines
    assert not [line for line in lines if line.startswith("Projects created")]
    data = json.loads(run(str(transcripts_copy), "--json", "--project", "mine"))
    # Nothing new on a second run: no session touched, no project named.
    assert data["projects"] == []
    assert list(Project.objects.all()) == [target]


def test_a_path_rule_sends_folders_to_a_project_and_the_rest_are_created(transcripts_copy):
    spotter = Project.objects.create(slug="spotter-all", name="Spotter")
    ProjectRule.objects.create(path_prefix="/home/marco/projects/spotter", project=spotter)
    data = json.loads(run(str(transcripts_copy), "--json"))
    by_slug = {p["slug"]: p for p in data["projects"]}
    assert by_slug["spotter-all"]["created"] is False
    assert all(p["created"] for slug, p in by_slug.items() if slug != "spotter-all")


def test_a_dry_run_says_which_projects_would_be_created_and_creates_none(transcripts_copy):
    lines = run(str(transcripts_copy), "--dry-run").splitlines()
    assert "Projects would be created: 9: " + ", ".join(FOLDER_PROJECTS) in lines
    assert not Project.objects.exists()
