"""The MCP tools: each a thin adapter over what the REST API answers for the same question.

Arguments are validated by DRF serializers (the REST endpoint's own where it has one), the
JSON comes from the REST serializers, and a project defaults to the caller's key's project.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rest_framework import serializers

from analytics.api.anomalies import AnomalyListApi, AnomalySerializer
from analytics.api.dependencies import RelatedSkillsApi, related_skills_body
from analytics.api.experiments import ProjectQuery, experiment_results_body
from analytics.api.recommendations import RecommendationsApi, recommendations_body
from analytics.api.skill_path import SkillPathSerializer
from analytics.api.skills import WindowSerializer, skill_stats_body
from analytics.api.trends import SkillTrendApi, trend_body
from analytics.liveview import PROJECT, LiveView
from analytics.snapshot import project_set_figures, view_payload
from integrations.mcp.registry import STDIO, Caller, ToolAnswer, ToolRefused, ToolSpec, register
from lib.formatting import figure
from quality.collectors.git import open_repo
from quality.report import render_json, render_markdown
from tracking.api.checkpoints import CheckpointDetailSerializer, CheckpointSerializer
from tracking.api.fields import TextField
from tracking.api.scope import filtered, project_or_404, session_or_404, visible
from tracking.api.sessions import SessionDetailSerializer
from tracking.checkpoints import UnknownSession, checkpoint_take
from tracking.models import Checkpoint, Project, Session
from tracking.reports import report_data
from tracking.trends import start_and_end

MAX_LIST = 200
DEFAULT_LIST = 50


class ProjectArgument(serializers.Serializer):
    project = serializers.SlugField(
        required=False, help_text="A project's slug (default: the key's)."
    )


def _project(caller: Caller, given: dict[str, Any]) -> Project:
    """The named project if the caller may see it (else the REST API's 404 reason), or the
    caller's own."""
    slug = given.get("project")
    return caller.user.project if slug is None else project_or_404(caller.user, slug)


# -- checkpoint ------------------------------------------------------------------------------


class CheckpointArguments(serializers.Serializer):
    path = TextField(max_length=4096, help_text="The local repository to measure.")
    session = TextField(
        max_length=Session._meta.get_field("external_id").max_length,
        required=False,
        allow_blank=True,
        help_text="The session's id (e.g. Claude Code's session id); unknown ids start it.",
    )
    kind = serializers.ChoiceField(
        choices=["manual", "start", "end", "auto"],
        required=False,
        help_text="Default: start for a session's first checkpoint, manual otherwise.",
    )


def checkpoint(caller: Caller, given: dict[str, Any]) -> ToolAnswer:
    """Measure a local repository and record a checkpoint, as `manage.py checkpoint` does."""
    root = Path(given["path"]).expanduser()
    if not root.is_dir():
        raise ToolRefused(f"path: {given['path']}: not a directory")
    if open_repo(root) is None:
        raise ToolRefused(
            f"path: {given['path']}: not inside a git work tree; a checkpoint measures a "
            "repository at a commit"
        )
    try:
        stored = checkpoint_take(
            project=caller.user.project,
            root=root,
            session_id=given.get("session", ""),
            kind=given.get("kind"),
        )
    except UnknownSession as exc:  # not raised: unknown sessions are started
        raise ToolRefused(f"session: {exc}: no such session") from None
    except ValueError as exc:  # the project's gate configuration
        raise ToolRefused(f"project {caller.user.project.slug}: {exc}") from None
    data = report_data(stored)
    markdown = render_markdown(data)
    body = {
        "checkpoint": CheckpointDetailSerializer(_with_measurements(stored.pk)).data,
        "report": render_json(data),
        "markdown": markdown,
    }
    return ToolAnswer(body, markdown)


def _with_measurements(pk: int) -> Checkpoint:
    return Checkpoint.objects.select_related("project").prefetch_related("measurements").get(pk=pk)


# -- latest_report ---------------------------------------------------------------------------


class ReportArguments(ProjectArgument):
    session = serializers.IntegerField(
        required=False, min_value=1, help_text="A session id: its latest checkpoint."
    )


def latest_report(caller: Caller, given: dict[str, Any]) -> ToolAnswer:
    """The latest checkpoint's report, of the session if one is given, else of the project."""
    checkpoints = Checkpoint.objects.select_related("project", "session")
    if "session" in given:
        checkpoints = checkpoints.filter(session=session_or_404(caller.user, given["session"]))
    else:
        checkpoints = checkpoints.filter(project=_project(caller, given))
    latest = checkpoints.order_by("-created_at", "-pk").first()
    if latest is None:
        raise ToolRefused("No checkpoint recorded yet.")
    markdown = render_markdown(report_data(latest))
    body = {"checkpoint": CheckpointSerializer(latest).data, "markdown": markdown}
    return ToolAnswer(body, markdown)


# -- session_summary -------------------------------------------------------------------------


class SessionArguments(serializers.Serializer):
    session = serializers.IntegerField(min_value=1, help_text="A session id (REST `id`).")


def session_summary_data(caller: Caller, pk: int) -> dict[str, Any]:
    """The session as the REST API shows it, its tool calls, its score change from the start
    checkpoint to the latest (or end) one, and the gate of that latest checkpoint."""
    session = session_or_404(caller.user, pk)
    checkpoints = list(session.checkpoints.select_related("project").order_by("created_at", "pk"))
    pair = start_and_end(checkpoints)
    change = None
    if pair is not None:
        start, end = pair
        delta = (
            None
            if start.score_total is None or end.score_total is None
            else end.score_total - start.score_total
        )
        change = {
            "start_checkpoint": start.pk,
            "end_checkpoint": end.pk,
            "start": start.score_total,
            "end": end.score_total,
            "delta": delta,
        }
    last = checkpoints[-1] if checkpoints else None
    gate = None
    if last is not None:
        gate = {
            "checkpoint": last.pk,
            "verdict": CheckpointSerializer(last).data["gate_verdict"],
            "failing": [g["metric"] for g in last.gate_results or [] if g.get("passed") is False],
        }
    return {
        "session": SessionDetailSerializer(session).data,
        "tool_calls": session.invocations.count(),
        "checkpoints": len(checkpoints),
        "score_change": change,
        "gate": gate,
    }


def session_summary_text(data: dict[str, Any]) -> str:
    s = data["session"]
    tokens = [s[k] for k in ("input_tokens", "output_tokens")]
    lines = [
        f"Session {s['id']} ({s['external_id']}), {s['status']}.",
        "Tokens: not measured."
        if tokens[0] is None
        else f"Tokens: {figure(tokens[0])} in, {figure(tokens[1])} out.",
        "Cost: not measured." if s["cost_usd"] is None else f"Cost: ${s['cost_usd']}.",
        f"Tool calls: {data['tool_calls']}.",
    ]
    change = data["score_change"]
    if change is None:
        lines.append("Score change: not measured (fewer than two checkpoints).")
    else:
        lines.append(
            f"Score: {figure(change['start'])} → {figure(change['end'])}"
            f" (checkpoints {change['start_checkpoint']} → {change['end_checkpoint']})."
        )
    gate = data["gate"]
    if gate is None:
        lines.append("Gate: no checkpoint.")
    else:
        verdict = gate["verdict"] or "not evaluated"
        failing = f"; failing: {', '.join(gate['failing'])}" if gate["failing"] else ""
        lines.append(f"Gate: {verdict}{failing}.")
    return "\n".join(lines)


def session_summary(caller: Caller, given: dict[str, Any]) -> ToolAnswer:
    data = session_summary_data(caller, given["session"])
    return ToolAnswer(data, session_summary_text(data))


# -- quality_trend ---------------------------------------------------------------------------


class TrendArguments(ReportArguments):
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_LIST, default=DEFAULT_LIST
    )


def quality_trend(caller: Caller, given: dict[str, Any]) -> ToolAnswer:
    """The latest `limit` checkpoints of the project (or session), oldest first, and the score
    change since the session's start checkpoint when a session is given."""
    checkpoints = Checkpoint.objects.select_related("project")
    session = None
    if "session" in given:
        session = session_or_404(caller.user, given["session"])
        checkpoints = checkpoints.filter(session=session)
        project = session.project
    else:
        project = _project(caller, given)
        checkpoints = checkpoints.filter(project=project)
    rows = list(reversed(checkpoints.order_by("-created_at", "-pk")[: given["limit"]]))
    points = CheckpointSerializer(rows, many=True).data
    since_start = None
    if session is not None:
        since_start = session_summary_data(caller, session.pk)["score_change"]
    body = {
        "project": project.slug,
        "session": None if session is None else session.pk,
        "checkpoints": points,
        "change_since_session_start": since_start,
    }
    scores = [figure(p["score_total"]) for p in points]
    text = f"{len(points)} checkpoints of {project.slug}, oldest first; scores: " + (
        ", ".join(scores) or "none"
    )
    if since_start is not None and since_start["delta"] is not None:
        text += f". Since the session's start: {since_start['delta']:+.1f} points."
    return ToolAnswer(body, text)


# -- skill_stats, anomalies, trend -----------------------------------------------------------


class SkillStatsArguments(WindowSerializer):
    project = serializers.SlugField(
        required=False, help_text="A project's slug (default: the key's)."
    )


def skill_stats(caller: Caller, given: dict[str, Any]) -> ToolAnswer:
    """`GET /api/v1/projects/<slug>/skills` with the same parameters."""
    project = _project(caller, given)
    query = {k: v for k, v in given.items() if k != "project"}
    body = skill_stats_body(caller.user, query, [project], project.slug)
    lines = [
        f"{s['skill']}: {s['invocations']} calls, completion "
        + (
            "not measured"
            if s["completion_rate"]["value"] is None
            else f"{s['completion_rate']['value']:.0%}"
        )
        for s in body["skills"][:10]
    ]
    head = f"Skills of {project.slug} from {body['window_start']} to {body['window_end']}"
    return ToolAnswer(dict(body), "\n".join([head + ":", *lines]) if lines else head + ": none.")


class AnomalyArguments(AnomalyListApi.FilterSerializer):
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_LIST, default=DEFAULT_LIST
    )


def anomalies(caller: Caller, given: dict[str, Any]) -> ToolAnswer:
    """The first page of `GET /api/v1/anomalies` with the same filters (most recently opened
    first)."""
    rows = filtered(
        AnomalySerializer.Meta.model.objects.select_related("project"),
        caller.user,
        given,
        {"skill": "skill", "metric": "metric", "status": "status", "since": "last_seen_at__gte"},
    ).order_by("-opened_at", "-pk")[: given["limit"]]
    results = AnomalySerializer(rows, many=True).data
    lines = [f"{a['skill']} {a['metric']} ({a['status']})" for a in results]
    text = f"{len(results)} anomalies" + (": " + "; ".join(lines) if lines else ".")
    return ToolAnswer({"results": results}, text)


class SkillTrendArguments(SkillTrendApi.FilterSerializer, SkillPathSerializer):
    project = serializers.SlugField(
        required=False, help_text="A project's slug (default: the key's)."
    )


def trend(caller: Caller, given: dict[str, Any]) -> ToolAnswer:
    """`GET /api/v1/skills/<skill>/trend` with the same parameters."""
    query = {k: v for k, v in given.items() if k != "skill"}
    query["project"] = _project(caller, given).slug
    body = trend_body(caller.user, given["skill"], query)
    text = (
        f"{body['skill']} {body['metric']} over {body['window_days']} days: {body['direction']}"
        f" ({body['n_points']} points; {body['method']})."
    )
    return ToolAnswer(dict(body), text)


# -- related_skills, recommendations, experiment_results -----------------------------------


class RelatedSkillsArguments(RelatedSkillsApi.FilterSerializer, SkillPathSerializer):
    project = serializers.SlugField(
        required=False, help_text="A project's slug (default: the key's)."
    )


def related_skills(caller: Caller, given: dict[str, Any]) -> ToolAnswer:
    """`GET /api/v1/skills/<skill>/related` with the same parameters."""
    query = {k: v for k, v in given.items() if k != "skill"}
    query["project"] = _project(caller, given).slug
    body = related_skills_body(caller.user, given["skill"], query)
    head = (
        f"Skills used with {body['skill']} in {query['project']} over {body['days']} days"
        f" ({body['n_sessions']} sessions; {body['origin']}, computed at {body['computed_at']})"
    )
    lines = [
        f"{r['skill']}: lift {r['lift']:.2f}, both in {r['count_ab']} sessions,"
        f" q {r['q_value']:.3g}" + (f", {r['band']}" if r["band"] else "")
        for r in body["related"][:10]
    ]
    if not lines:
        return ToolAnswer(
            dict(body),
            f"{head}: none (a pair needs {body['min_sessions']} sessions in the window and "
            f"{body['min_count']} together).",
        )
    return ToolAnswer(dict(body), "\n".join([head + ":", *lines]))


class RecommendationsArguments(RecommendationsApi.FilterSerializer):
    project = serializers.SlugField(
        required=False, help_text="A project's slug (default: the key's)."
    )


def recommendations(caller: Caller, given: dict[str, Any]) -> ToolAnswer:
    """`GET /api/v1/recommendations` with the same parameters."""
    query = dict(given)
    query["project"] = _project(caller, given).slug
    body = recommendations_body(caller.user, query)
    known = "" if body["user_known"] else " (no call in the window)"
    lines = [
        f"{r['skill']}: {r['score']:.3f} ({r['source']}, completed by {r['support_users']} users)"
        for r in body["recommendations"]
    ]
    similar = ", ".join(f"{u['user']} (Jaccard {u['jaccard']:.2f})" for u in body["similar_users"])
    head = f"Skills to try for {body['user']}{known}, from {body['n']} users:"
    text = "\n".join(
        [head + ("" if lines else " none."), *lines, f"Similar users: {similar or 'none'}."]
    )
    return ToolAnswer(dict(body), text)


class ExperimentArguments(ProjectQuery):
    key = serializers.SlugField(max_length=100, help_text="The experiment's key.")
    project = serializers.SlugField(
        required=False, help_text="A project's slug (default: the key's)."
    )


def experiment_results(caller: Caller, given: dict[str, Any]) -> ToolAnswer:
    """`GET /api/v1/experiments/<key>/results` with the same parameters."""
    query = {"project": _project(caller, given).slug}
    body = experiment_results_body(caller.user, given["key"], query)
    units = ", ".join(f"{u['variant']} {u['units']}" for u in body["units"])
    lines = [
        f"Experiment {body['experiment']} ({body['status']}): {body['n']} units ({units});"
        f" decision: {body['decision']}" + ("; sample ratio mismatch" if body["srm_flag"] else "")
    ]
    for metric in body["metrics"]:
        for row in metric["comparisons"]:
            lift = "not measured" if row["rel_lift"] is None else f"{row['rel_lift']:+.1%}"
            lines.append(
                f"{metric['metric']} ({metric['role']}): {row['variant']} vs {row['baseline']}"
                f" {lift}, {row['decision']}"
            )
    return ToolAnswer(dict(body), "\n".join(lines))


# -- live_snapshot ---------------------------------------------------------------------------


def live_snapshot(caller: Caller, given: dict[str, Any]) -> ToolAnswer:
    """What `/live/` shows for the project now: the body of its `metrics_update` frame."""
    project = _project(caller, given)
    now = datetime.now(UTC)
    view = LiveView.make(PROJECT, (project.pk,))
    body = view_payload(view, project_set_figures((project.pk,), now), {project.pk: project.slug})
    body = {"server_time": now.isoformat(), **body}
    text = (
        f"{project.slug} now: {body['active_sessions']['count']} active sessions, "
        f"{len(body['anomalies'])} open anomalies, {len(body['top_skills'])} skills in 24 h."
    )
    return ToolAnswer(body, text)


def visible_checkpoint(caller: Caller, pk: int) -> Checkpoint:
    """A checkpoint the caller may see, for the `cairn://checkpoints/<id>` resource."""
    found = visible(Checkpoint.objects.select_related("project", "session"), caller.user)
    checkpoint_ = found.filter(pk=pk).first()
    if checkpoint_ is None:
        raise ToolRefused(f"No checkpoint {pk}.")
    return checkpoint_


register(
    ToolSpec(
        "checkpoint",
        "Measure a local git repository (coverage, tests, lint, git…), record a checkpoint "
        "of it for the session, and return its report.",
        CheckpointArguments,
        checkpoint,
        writes=True,
        transports=(STDIO,),
    )
)
register(
    ToolSpec(
        "latest_report",
        "The latest checkpoint's report (Markdown) of the project, or of a session.",
        ReportArguments,
        latest_report,
    )
)
register(
    ToolSpec(
        "session_summary",
        "A session's tokens, cost, tool calls, score change since its start and gate.",
        SessionArguments,
        session_summary,
    )
)
register(
    ToolSpec(
        "quality_trend",
        "The project's (or a session's) quality scores over its latest checkpoints.",
        TrendArguments,
        quality_trend,
    )
)
register(
    ToolSpec(
        "skill_stats",
        "Per-skill invocations, completion rate (Wilson interval) and durations over a window.",
        SkillStatsArguments,
        skill_stats,
        prevalidate=False,
    )
)
register(
    ToolSpec(
        "anomalies",
        "Stored skill anomalies, most recently opened first.",
        AnomalyArguments,
        anomalies,
    )
)
register(
    ToolSpec(
        "trend",
        "A skill's daily trend: Mann–Kendall, Theil–Sen and OLS over the last days.",
        SkillTrendArguments,
        trend,
        prevalidate=False,
    )
)
register(
    ToolSpec(
        "live_snapshot",
        "What the /live/ page shows now: top skills, open anomalies, active sessions.",
        ProjectArgument,
        live_snapshot,
    )
)
register(
    ToolSpec(
        "related_skills",
        "Skills used in the same sessions as a skill: lift, Fisher p and BH q over the last days.",
        RelatedSkillsArguments,
        related_skills,
        prevalidate=False,
    )
)
register(
    ToolSpec(
        "recommendations",
        "Skills a user might try next (item-item cosine, else popularity) and similar users.",
        RecommendationsArguments,
        recommendations,
        prevalidate=False,
    )
)
register(
    ToolSpec(
        "experiment_results",
        "An experiment's results per metric and arm: lift, intervals, SRM and the decision.",
        ExperimentArguments,
        experiment_results,
    )
)
