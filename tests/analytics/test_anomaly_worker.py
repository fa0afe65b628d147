"""The anomaly worker: stored anomalies open, update, resolve with hysteresis, never doubled."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from analytics import detection
from analytics.detection import evaluate
from analytics.management.commands.analytics_worker import next_run
from analytics.models import SkillAnomaly
from lib.hours import floor_hour
from tests.analytics.anomaly_data import hour_of, perfect_baseline
from tests.analytics.conftest import at
from tracking import instruments

T = at("2026-11-20T12:00:00")
HOUR = timedelta(hours=1)
FIELDS = [
    "skill",
    "metric",
    "anomaly_type",
    "status",
    "opened_at",
    "last_seen_at",
    "resolved_at",
    "window_start",
    "window_end",
    "baseline_value",
    "baseline_n",
    "observed_value",
    "observed_n",
    "p_value",
    "q_value",
    "deviation_score",
    "peak_deviation_score",
    "evaluations",
    "method",
    "params",
]


def rows() -> list[dict]:
    return list(SkillAnomaly.objects.order_by("pk").values(*FIELDS))


@pytest.mark.django_db
def test_a_drop_from_a_perfect_baseline_is_opened_with_its_figures(project):
    perfect_baseline(project)
    hour_of(project, T - HOUR, 6, 10)
    summary = evaluate(T + timedelta(minutes=7))  # floored: the window is 11:00–12:00
    assert (summary.projects, summary.opened, summary.errors) == (1, 1, [])
    [anomaly] = SkillAnomaly.objects.all()
    kind = (anomaly.skill, anomaly.metric, anomaly.anomaly_type)
    assert kind == ("ruff", "completion_rate", "drop")
    assert (anomaly.status, anomaly.opened_at, anomaly.last_seen_at) == ("open", T, T)
    assert (anomaly.window_start, anomaly.window_end) == (T - HOUR, T)
    assert (anomaly.observed_value, anomaly.observed_n) == (0.6, 10)
    assert (anomaly.baseline_value, anomaly.baseline_n) == (1.0, 200)
    assert anomaly.p_value == pytest.approx(2.66705e-6, rel=1e-5)  # AN-1
    assert anomaly.q_value == anomaly.p_value  # a family of one skill
    assert anomaly.deviation_score == pytest.approx(-9.030692, abs=1e-6)
    assert anomaly.peak_deviation_score == anomaly.deviation_score
    assert (anomaly.evaluations, anomaly.method) == (1, "fisher_exact_v1")
    assert anomaly.params["family_p_values"] == [{"skill": "ruff", "p_value": anomaly.p_value}]
    assert anomaly.params["baseline_window"] == {
        "start": "2026-11-13T11:00:00+00:00",
        "end": "2026-11-20T11:00:00+00:00",
    }


@pytest.mark.django_db
def test_life_1_opens_once_updates_and_resolves_after_two_clear_evaluations(project):
    perfect_baseline(project)
    # The hours 11:00 … 16:00: flag, flag, clear, flag, clear, clear.
    for i, completed in enumerate([6, 6, 10, 6, 10, 10]):
        hour_of(project, T - HOUR + i * HOUR, completed, 10)
    states = []
    for i in range(6):
        evaluate(T + i * HOUR)
        before = rows()
        evaluate(T + i * HOUR + timedelta(minutes=30))  # same `at`: not a new evaluation
        assert rows() == before
        [row] = before
        states.append((row["status"], row["evaluations"], row["last_seen_at"]))
    assert states == [
        ("open", 1, T),
        ("open", 2, T + HOUR),
        ("open", 2, T + HOUR),
        ("open", 3, T + 3 * HOUR),
        ("open", 3, T + 3 * HOUR),
        ("resolved", 3, T + 3 * HOUR),
    ]
    [row] = rows()
    assert row["resolved_at"] == T + 5 * HOUR
    # The baseline took in the earlier 6/10 hours, so the later flags deviate less.
    assert row["peak_deviation_score"] == pytest.approx(-9.030692, abs=1e-6)
    assert abs(row["deviation_score"]) < abs(row["peak_deviation_score"])
    # A later drop opens a new row; the resolved one is kept.
    hour_of(project, T + 5 * HOUR, 2, 10)
    evaluate(T + 6 * HOUR)
    assert [(r["status"], r["opened_at"]) for r in rows()] == [
        ("resolved", T),
        ("open", T + 6 * HOUR),
    ]


@pytest.mark.django_db
def test_an_hour_without_data_neither_resolves_nor_counts_towards_resolving(project):
    perfect_baseline(project)
    hour_of(project, T - HOUR, 6, 10)
    hour_of(project, T + HOUR, 10, 10)  # 12:00 has nothing, 13:00 is clear
    for i in range(3):
        evaluate(T + i * HOUR)
    [anomaly] = SkillAnomaly.objects.all()
    assert (anomaly.status, anomaly.clear_streak) == ("open", 1)


@pytest.mark.django_db
def test_a_backfill_at_a_time_already_evaluated_opens_nothing_again(project):
    perfect_baseline(project)
    hour_of(project, T - HOUR, 6, 10)
    hour_of(project, T, 10, 10)
    hour_of(project, T + HOUR, 10, 10)
    for i in range(3):
        evaluate(T + i * HOUR)
    assert [r["status"] for r in rows()] == ["resolved"]
    evaluate(T)
    assert [r["status"] for r in rows()] == ["resolved"]


@pytest.mark.django_db
def test_at_gives_the_figures_of_a_run_at_that_moment(project):
    now = datetime.now(UTC)
    hour = floor_hour(now)
    # Five hours of completions three days back, off the window's hour of day.
    perfect_baseline(project, start=hour - timedelta(days=3) + 3 * HOUR)
    hour_of(project, hour - HOUR, 6, 10)
    call_command("analytics_worker", "--once", stdout=StringIO())
    if floor_hour(datetime.now(UTC)) != hour:
        pytest.skip("the hour turned during the test")
    live = rows()
    assert [(r["skill"], r["opened_at"]) for r in live] == [("ruff", hour)]
    SkillAnomaly.objects.all().delete()
    # What happened after `at` (this hour's events) is not seen by a backfill at `at`.
    hour_of(project, hour, 0, 10)
    out = StringIO()
    call_command("analytics_worker", "--at", (hour + timedelta(minutes=59)).isoformat(), stdout=out)
    assert rows() == live
    assert "1 opened" in out.getvalue()


@pytest.mark.django_db
def test_the_worker_refuses_a_bad_at_and_a_bad_interval():
    with pytest.raises(CommandError, match="'--at' is not an ISO 8601 timestamp"):
        call_command("analytics_worker", "--at", "yesterday")
    with pytest.raises(CommandError, match="--interval-minutes"):
        call_command("analytics_worker", "--interval-minutes", "0")


@pytest.mark.django_db
def test_a_failing_project_is_logged_and_counted_and_the_others_still_run(
    project, other_project, monkeypatch
):
    for p in (project, other_project):
        perfect_baseline(p)
        hour_of(p, T - HOUR, 6, 10)
    real = detection.project_tests

    def failing(p, at):
        if p.slug == "alpha":
            raise RuntimeError("rollup unreadable")
        return real(p, at)

    monkeypatch.setattr(detection, "project_tests", failing)
    before = instruments.analytics_worker_errors._value.get()
    err = StringIO()
    with pytest.raises(CommandError, match="1 project evaluations failed"):
        call_command("analytics_worker", "--at", T.isoformat(), stdout=StringIO(), stderr=err)
    assert "alpha: rollup unreadable" in err.getvalue()
    assert instruments.analytics_worker_errors._value.get() == before + 1
    assert [a.project.slug for a in SkillAnomaly.objects.all()] == ["beta"]


def test_the_loop_wakes_every_interval_and_at_each_full_hour():
    five = timedelta(minutes=5)
    assert next_run(at("2026-11-20T12:03:10"), five) == at("2026-11-20T12:05:00")
    assert next_run(at("2026-11-20T12:05:00"), five) == at("2026-11-20T12:10:00")
    assert next_run(at("2026-11-20T12:58:00"), timedelta(minutes=7)) == at("2026-11-20T13:00:00")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need Postgres")
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_open_an_anomaly_once(project):
    perfect_baseline(project)
    hour_of(project, T - HOUR, 6, 10)
    barrier = threading.Barrier(2)
    results: list = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(evaluate(T))
        except Exception as exc:  # reported by the assertion below
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(isinstance(r, detection.RunSummary) for r in results), results
    assert sorted(r.opened for r in results) == [0, 1]
    assert all(r.errors == [] for r in results)
    [anomaly] = SkillAnomaly.objects.all()
    assert anomaly.evaluations == 1
