"""The live snapshot: per view, the figures of one tick, read once from the rollups.

`build_payloads` runs once per tick for every active view. Views over the same project set
share their queries, so a tick costs a few queries per distinct project set, not per client.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Q

from analytics.frames import anomaly_data, iso, sessions_data
from analytics.liveview import ALL, PROJECT, SKILL, LiveView
from analytics.models import SkillAnomaly
from analytics.skills import SkillStats, last_hours, skill_stats
from lib.hours import floor_hour
from tracking.models import Project, Session, SkillHourly, SkillSessionHour

TOP = 10
RECENT_SESSIONS = 10


@dataclass
class ProjectSetFigures:
    """Everything a tick needs about one set of projects, computed once."""

    day: list[SkillStats]
    hour: dict[str, SkillStats]
    anomalies: list[dict]
    sessions: dict
    windows: dict


def windows(now: datetime) -> dict:
    """The bounds of the 1 h and 24 h windows at `now` (see docs/websocket-api.md)."""
    return {
        "1h": {"start": iso(last_hours(1, now)), "end": iso(now)},
        "24h": {"start": iso(last_hours(24, now)), "end": iso(now)},
    }


def project_set_figures(project_ids: tuple[int, ...], now: datetime) -> ProjectSetFigures:
    projects = Project.objects.filter(pk__in=project_ids)
    day = skill_stats(projects, last_hours(24, now), now)
    hour = {s.skill: s for s in skill_stats(projects, last_hours(1, now), now)}
    found = open_anomalies(project_ids)
    return ProjectSetFigures(day, hour, found, active_sessions(project_ids, now), windows(now))


def open_anomalies(project_ids: tuple[int, ...], skill: str | None = None) -> list[dict]:
    """The stored open anomalies of these projects (the analytics worker keeps them), most
    recently seen first."""
    rows = SkillAnomaly.objects.filter(project_id__in=project_ids, status=SkillAnomaly.OPEN)
    if skill is not None:
        rows = rows.filter(skill=skill)
    rows = rows.select_related("project").order_by("-last_seen_at", "-pk")
    return [anomaly_data(a) for a in rows]


def skill_item(day: SkillStats | None, hour: SkillStats | None, skill: str = "") -> dict:
    """One entry of `top_skills`; a skill without events in 24 h has zeros and nulls."""
    return {
        "skill": day.skill if day else skill,
        "invocations_1h": hour.invocations if hour else 0,
        "invocations_24h": day.invocations if day else 0,
        "completed_24h": day.completed if day else 0,
        "failed_24h": day.failed if day else 0,
        "completion_rate_24h": _round(day.completion_rate) if day else None,
        "completion_rate_24h_low": _round(day.completion_rate_low) if day else None,
        "completion_rate_24h_high": _round(day.completion_rate_high) if day else None,
        "avg_duration_s": _round(day.avg_duration_s) if day else None,
        "duration_n_24h": day.duration_n if day else 0,
    }


def _round(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None


def active_sessions(project_ids: tuple[int, ...], now: datetime) -> dict:
    """Not-ended sessions with activity in the last CAIRN_SESSION_IDLE_MINUTES: count and the
    latest started, each as `session_updated` shows it. Skill activity is read from the hourly
    rollup (the snapshot never scans the event log), so it counts from the start of the hour
    the idle window begins in."""
    since = now - timedelta(minutes=settings.CAIRN_SESSION_IDLE_MINUTES)
    invoked = SkillSessionHour.objects.filter(
        project_id__in=project_ids, hour__gte=floor_hour(since)
    ).values("session_id")
    sessions = Session.objects.filter(project_id__in=project_ids, status=Session.ACTIVE).filter(
        Q(started_at__gte=since) | Q(updated_at__gte=since) | Q(pk__in=invoked)
    )
    recent = sessions.select_related("project").order_by("-started_at", "-pk")[:RECENT_SESSIONS]
    # The same entries as session_updated frames, the OTLP figures included.
    return {"count": sessions.count(), "sessions": sessions_data(list(recent))}


def view_payload(view: LiveView, figures: ProjectSetFigures, slugs: dict[int, str]) -> dict:
    """The body of a view's `metrics_update`, without type, seq and server_time."""
    if view.kind == SKILL:
        day = next((s for s in figures.day if s.skill == view.skill), None)
        top = [skill_item(day, figures.hour.get(view.skill), view.skill)]
        found = [a for a in figures.anomalies if a["skill"] == view.skill]
        scope = {"kind": SKILL, "skill": view.skill}
    else:
        top = [skill_item(s, figures.hour.get(s.skill)) for s in figures.day[:TOP]]
        found = figures.anomalies
        scope = {"kind": ALL}
        if view.kind == PROJECT:
            scope = {"kind": PROJECT, "project": slugs.get(view.project_ids[0], "")}
    return {
        "scope": scope,
        "windows": figures.windows,
        "top_skills": top,
        "anomalies": found,
        "active_sessions": figures.sessions,
    }


def build_payloads(views: list[LiveView], now: datetime | None = None) -> dict[str, dict]:
    """Each view's payload by group name, with one set of queries per distinct project set."""
    now = now or datetime.now(UTC)
    by_set: dict[tuple[int, ...], ProjectSetFigures] = {}
    ids = {pk for view in views for pk in view.project_ids}
    slugs = dict(Project.objects.filter(pk__in=ids).values_list("pk", "slug"))
    payloads = {}
    for view in views:
        if view.project_ids not in by_set:
            by_set[view.project_ids] = project_set_figures(view.project_ids, now)
        payloads[view.group] = view_payload(view, by_set[view.project_ids], slugs)
    return payloads


def skill_metrics(project_ids: tuple[int, ...], skill: str, now: datetime | None = None) -> dict:
    """The `metrics_response` body for one skill over the given projects."""
    now = now or datetime.now(UTC)
    projects = Project.objects.filter(pk__in=project_ids)
    result: dict = {"skill": skill, "windows": {}}
    stats = {}
    for name, hours in (("1h", 1), ("24h", 24)):
        found = skill_stats(projects, last_hours(hours, now), now, skills=[skill])
        stats[name] = found[0] if found else None
        result["windows"][name] = _window_dict(stats[name], last_hours(hours, now), now)
    result["anomalies"] = open_anomalies(project_ids, skill)
    return result


def _window_dict(stats: SkillStats | None, start: datetime, end: datetime) -> dict:
    if stats is None:
        return {
            "start": iso(start),
            "end": iso(end),
            "invocations": 0,
            "completed": 0,
            "failed": 0,
            "undecided": 0,
            "completion_rate": None,
            "completion_rate_low": None,
            "completion_rate_high": None,
            "duration_n": 0,
            "avg_duration_s": None,
            "stddev_duration_s": None,
            "unique_sessions": 0,
        }
    data = stats.as_dict()
    data.pop("skill")
    data["start"] = iso(data.pop("window_start"))
    data["end"] = iso(data.pop("window_end"))
    return data


def skill_known(project_ids: tuple[int, ...], skill: str) -> bool:
    return SkillHourly.objects.filter(project_id__in=project_ids, skill=skill).exists()
