"""Titles of the browsable API's pages (settings.REST_FRAMEWORK["VIEW_NAME_FUNCTION"]).

DRF derives a title from the class name ("SessionListApi" → "Session List Api"); Cairn's pages
say what the endpoint is instead. A view may set `view_name`; the classes of every app are
named here by class name, as `tracking` may not import the apps above it.
"""

from __future__ import annotations

import re

TITLES = {
    "ApiRootApi": "Cairn API",
    "ProjectListApi": "Projects",
    "ProjectDetailApi": "Project",
    "SessionListApi": "Sessions",
    "SessionDetailApi": "Session",
    "SessionStartApi": "Start a session",
    "SessionEndApi": "End a session",
    "CheckpointListApi": "Checkpoints",
    "CheckpointListCreateApi": "Checkpoints",
    "CheckpointDetailApi": "Checkpoint",
    "InvocationListApi": "Skill invocations",
    "IngestInvocationsApi": "Ingest skill invocations",
    "SkillStatsApi": "Skill statistics",
    "ProjectSkillStatsApi": "Skill statistics of a project",
    "AnomalyListApi": "Anomalies",
    "ClaudeCodeHookApi": "Claude Code hooks",
}


def readable_class_name(name: str) -> str:
    """ "FooBarApi" → "Foo bar": the class name without its Api/View suffix, in words."""
    name = re.sub(r"(Api|APIView|View|ViewSet)$", "", name) or name
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+", name) or [name]
    return " ".join([words[0], *(w.lower() for w in words[1:])])


def view_name(view) -> str:
    """The title of a browsable API page: `view.view_name`, the table above, or a readable
    class name; a suffix names the page of one object or a list, as DRF's default does."""
    title = getattr(view, "view_name", None) or TITLES.get(type(view).__name__)
    title = title or readable_class_name(type(view).__name__)
    suffix = getattr(view, "suffix", None)
    return f"{title} {suffix}" if suffix else title
