"""Encoding of server → client frames: compact JSON, encoded once and sent as is."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from analytics.models import Experiment, SkillAnomaly
from tracking import instruments
from tracking.models import Checkpoint, Session
from tracking.panels import live_session_fields


def server_time(moment: datetime | None = None) -> str:
    """ISO 8601 UTC with microseconds, e.g. 2026-11-25T10:00:00.123456Z."""
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso(moment: datetime | None) -> str | None:
    return server_time(moment) if moment else None


def encode(frame: dict) -> str:
    return json.dumps(frame, separators=(",", ":"), allow_nan=False)


def error_frame(code: str, message: str) -> str:
    reason = instruments.one_of(code, instruments.LIVE_REJECTION_REASONS)
    instruments.live_frames_rejected.labels(reason).inc()
    return encode({"type": "error", "code": code, "message": message})


def status_frame(live: bool, reason: str | None = None) -> str:
    """Whether live frames can flow: false while the channel layer is unreachable."""
    frame: dict = {"type": "status", "live": live, "server_time": server_time()}
    if reason:
        frame["reason"] = reason
    return encode(frame)


def checkpoint_data(checkpoint: Checkpoint) -> dict:
    return {
        "id": checkpoint.pk,
        "project": checkpoint.project.slug,
        "session": checkpoint.session.external_id if checkpoint.session else None,
        "kind": checkpoint.kind,
        "commit": checkpoint.commit,
        "branch": checkpoint.branch,
        "score_total": checkpoint.score_total,
        "points_measured": checkpoint.points_measured,
        "stars": checkpoint.stars,
        "label": checkpoint.label,
        "gate_verdict": checkpoint.gate_verdict or None,
        "created_at": iso(checkpoint.created_at),
    }


def session_data(session: Session) -> dict:
    return {
        "id": session.pk,
        "project": session.project.slug,
        "external_id": session.external_id,
        "agent": session.agent,
        "user_name": session.user_name,
        "branch": session.branch,
        "status": session.status,
        "started_at": iso(session.started_at),
        "ended_at": iso(session.ended_at),
        "updated_at": iso(session.updated_at),
        # None = no model usage recorded (not measured), as on the session page and the API.
        "total_tokens": session.total_tokens if session.tokens_measured else None,
        # A decimal as text keeps cents exact; None = cost not known.
        "cost_usd": str(session.cost_usd) if session.cost_usd is not None else None,
    }


def sessions_data(sessions: list[Session]) -> list[dict]:
    """Sessions as every frame shows them (`session_updated` and the snapshot's
    `active_sessions`): `session_data` and the fields other apps register for live frames
    (tracking.panels, e.g. `otlp` from integrations/otlp), read for the whole batch at once."""
    extra = live_session_fields(sessions)
    return [{**session_data(s), **extra[s.pk]} for s in sessions]


def anomaly_data(anomaly: SkillAnomaly) -> dict:
    """A stored anomaly in frames: the fields of `GET /api/v1/anomalies` but `params` (which
    lists a whole BH family: the API has it, a frame sent every tick need not)."""
    data: dict = {"id": anomaly.pk, "project": anomaly.project.slug}
    for name in SkillAnomaly.SHOWN_FIELDS:
        if name != "params":
            value = getattr(anomaly, name)
            data[name] = iso(value) if isinstance(value, datetime) else value
    return data


def experiment_data(experiment: Experiment, results: dict, previous: dict | None) -> dict:
    """An experiment whose decision changed: the decisions now and before (null: never
    evaluated), per comparison with its p and q; the whole results are in the API."""
    return {
        "project": experiment.project.slug,
        "key": experiment.key,
        "name": experiment.name,
        "status": results["status"],
        "decision": results["decision"],
        "previous_decision": previous["decision"] if previous else None,
        "srm_flag": results["srm_flag"],
        "computed_at": results["computed_at"],
        "metrics": [
            {
                "metric": metric["metric"],
                "role": metric["role"],
                "variant": comparison["variant"],
                "decision": comparison["decision"],
                "p_value": comparison["p_value"],
                "q_value": comparison["q_value"],
            }
            for metric in results["metrics"]
            for comparison in metric["comparisons"]
        ],
    }
