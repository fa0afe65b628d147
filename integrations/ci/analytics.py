"""Pipeline analytics of a project: per stage and job, bottlenecks, flaky jobs, run durations.

Computed from the stored runs and jobs of a window (never from memory, as the reference's
in-process counters were). A success rate is successes / decided jobs (success, failure,
timed_out; cancelled and other outcomes are not decided) with its Wilson 95 % interval;
durations are linear-interpolated percentiles (`lib.stats.percentile_linear`, numpy's default).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from analytics.skills import wilson_interval
from integrations.ci.models import PipelineJob, PipelineRun
from lib.stats import percentile_linear
from tracking.models import Project

# The reference's bottleneck rule (cicd_tracker.py): success below 80 %, high below 50 %.
BOTTLENECK_BELOW = 0.8
HIGH_BELOW = 0.5
DECIDED = {"success": True, "failure": False, "timed_out": False}


@dataclass
class Figures:
    """Runs, decided outcomes, success rate with interval, and duration percentiles."""

    runs: int = 0
    succeeded: int = 0
    failed: int = 0
    durations: list[float] = field(default_factory=list, repr=False)

    def add(self, conclusion: str, duration: float | None) -> None:
        self.runs += 1
        outcome = DECIDED.get(conclusion)
        if outcome is True:
            self.succeeded += 1
        elif outcome is False:
            self.failed += 1
        if duration is not None:
            self.durations.append(duration)

    @property
    def decided(self) -> int:
        return self.succeeded + self.failed

    @property
    def success_rate(self) -> float | None:
        return self.succeeded / self.decided if self.decided else None

    def as_dict(self) -> dict:
        interval = wilson_interval(self.succeeded, self.decided)
        counted = [(d, 1) for d in self.durations]
        return {
            "runs": self.runs,
            "decided": self.decided,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "success_rate": self.success_rate,
            "success_rate_low": interval[0] if interval else None,
            "success_rate_high": interval[1] if interval else None,
            "duration_n": len(self.durations),
            "duration_p50_s": percentile_linear(counted, 50),
            "duration_p90_s": percentile_linear(counted, 90),
        }


@dataclass(frozen=True)
class Flaky:
    job: str
    stage: str
    commit: str
    failed_at: datetime
    passed_at: datetime

    def as_dict(self) -> dict:
        return asdict(self)


def pipeline_analytics(project: Project, *, days: int = 30, now: datetime | None = None) -> dict:
    """The figures of the jobs and runs that finished in the `days` before `now`."""
    end = now or datetime.now(UTC)
    start = end - timedelta(days=days)
    jobs: list[dict] = [
        dict(row)
        for row in PipelineJob.objects.filter(
            project=project, finished_at__gte=start, finished_at__lt=end
        )
        .exclude(conclusion__in=["", "skipped"])
        .order_by("finished_at", "pk")
        .values("name", "stage", "phase", "commit", "conclusion", "duration_s", "finished_at")
    ]
    stages: dict[str, Figures] = defaultdict(Figures)
    per_job: dict[tuple[str, str], Figures] = defaultdict(Figures)
    phases: dict[str, str] = {}
    for job in jobs:
        stages[job["stage"]].add(job["conclusion"], job["duration_s"])
        per_job[(job["stage"], job["name"])].add(job["conclusion"], job["duration_s"])
        phases[job["stage"]] = job["phase"]
    stage_rows = [
        {"stage": stage, "phase": phases[stage], **figures.as_dict()}
        for stage, figures in sorted(stages.items())
    ]
    job_rows = [
        {"stage": stage, "job": name, **figures.as_dict()}
        for (stage, name), figures in sorted(per_job.items())
    ]
    return {
        "project": project.slug,
        "window_start": start,
        "window_end": end,
        "jobs_n": len(jobs),
        "runs": _runs(project, start, end),
        "stages": stage_rows,
        "jobs": job_rows,
        "bottlenecks": bottlenecks(stage_rows, "stage") + bottlenecks(job_rows, "job"),
        "flaky": [f.as_dict() for f in flaky_jobs(jobs)],
        "trend": duration_trend(project, start, end),
    }


def bottlenecks(rows: list[dict], level: str) -> list[dict]:
    """Stages or jobs whose success rate is below BOTTLENECK_BELOW: severity high below
    HIGH_BELOW, medium otherwise. Rows without a decided outcome are not judged."""
    found = []
    for row in rows:
        rate = row["success_rate"]
        if rate is None or rate >= BOTTLENECK_BELOW:
            continue
        found.append(
            {
                "level": level,
                "stage": row["stage"],
                "job": row.get("job"),
                "success_rate": rate,
                "decided": row["decided"],
                "severity": "high" if rate < HIGH_BELOW else "medium",
            }
        )
    return sorted(found, key=lambda b: (b["success_rate"], b["level"], b["stage"]))


def flaky_jobs(jobs: list[dict]) -> list[Flaky]:
    """Jobs that failed and then passed on the same commit (ordered by when they finished):
    the code did not change, the outcome did. One entry per (job, commit), the first pass after
    the first failure."""
    first_failure: dict[tuple[str, str, str], datetime] = {}
    found: dict[tuple[str, str, str], Flaky] = {}
    for job in jobs:
        if not job["commit"]:
            continue
        key = (job["stage"], job["name"], job["commit"])
        outcome = DECIDED.get(job["conclusion"])
        if outcome is False:
            first_failure.setdefault(key, job["finished_at"])
        elif outcome is True and key in first_failure and key not in found:
            found[key] = Flaky(
                job["name"], job["stage"], job["commit"], first_failure[key], job["finished_at"]
            )
    return sorted(found.values(), key=lambda f: (f.passed_at, f.job))


def _runs(project: Project, start: datetime, end: datetime) -> dict:
    figures = Figures()
    rows = PipelineRun.objects.filter(
        project=project, finished_at__gte=start, finished_at__lt=end
    ).exclude(conclusion__in=["", "skipped"])
    for conclusion, duration in rows.values_list("conclusion", "duration_s"):
        figures.add(conclusion, duration)
    return figures.as_dict()


def duration_trend(project: Project, start: datetime, end: datetime) -> list[dict]:
    """Per UTC day: finished runs, their median and p90 duration (runs with a duration)."""
    days: dict[str, list[float]] = defaultdict(list)
    counts: dict[str, int] = defaultdict(int)
    rows = PipelineRun.objects.filter(
        project=project, finished_at__gte=start, finished_at__lt=end
    ).exclude(conclusion="")
    for finished, duration in rows.values_list("finished_at", "duration_s"):
        if finished is None:  # excluded by the filter; for the type checker
            continue
        day = finished.astimezone(UTC).date().isoformat()
        counts[day] += 1
        if duration is not None:
            days[day].append(duration)
    return [
        {
            "day": day,
            "runs": counts[day],
            "duration_n": len(days[day]),
            "duration_p50_s": percentile_linear([(d, 1) for d in days[day]], 50),
            "duration_p90_s": percentile_linear([(d, 1) for d in days[day]], 90),
        }
        for day in sorted(counts)
    ]
