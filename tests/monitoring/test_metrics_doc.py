"""docs/metrics.md lists exactly the families a real scrape serves, with their types and
labels, and the traffic sent shows up in them."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.monitoring.scrapes import documented, families, sample


def test_every_family_served_is_documented_with_its_type_and_labels(scrape_after_traffic):
    served = families(scrape_after_traffic)
    cairn = {name: kind for name, kind in served.items() if name.startswith("cairn_")}
    assert cairn == {name: kind for name, (kind, _) in documented().items()}


def test_the_labels_served_are_the_documented_ones(scrape_after_traffic):
    labels: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(scrape_after_traffic):
        for s in family.samples:
            labels.setdefault(_exposed(family.name, family.type), set()).update(
                name for name in s.labels if name != "le"
            )
    for name, (_, documented_labels) in documented().items():
        assert labels.get(name, set()) == documented_labels, name


def test_the_traffic_is_counted(scrape_after_traffic):
    text = scrape_after_traffic
    # 6 skill and 3 tool events stored, then 2 of them again and one invalid event.
    assert sample(text, "cairn_ingest_events_total", source="api", outcome="accepted") == 9
    assert sample(text, "cairn_ingest_events_total", source="api", outcome="duplicate") == 2
    assert sample(text, "cairn_ingest_events_total", source="api", outcome="rejected") == 1
    assert sample(text, "cairn_ingest_rejections_total", source="api", reason="bad_request") == 1
    assert sample(text, "cairn_tool_invocations_total", tool="Bash", outcome="completed") == 2
    assert sample(text, "cairn_tool_invocations_total", tool="Bash", outcome="failed") == 1
    # The allow-list is read after the first batch is stored: pytest is a top skill.
    assert sample(text, "cairn_skill_invocations_total", skill="pytest", outcome="failed") == 3
    assert sample(text, "cairn_skill_invocations_total", skill="other", outcome="failed") == 0
    assert sample(text, "cairn_skill_invocation_duration_seconds_count", skill="pytest") == 6
    assert sample(text, "cairn_checkpoints_total", trigger="manual") == 1
    assert sample(text, "cairn_quality_gate_evaluations_total", status="failed") == 1
    assert sample(text, "cairn_coverage_ratio", project="alpha") == 0.8
    assert sample(text, "cairn_sessions_started_total", agent="unknown") == 2
    assert sample(text, "cairn_sessions_active", agent="unknown") == 2
    assert sample(text, "cairn_worker_runs_total", worker="analytics", outcome="success") >= 1


def _exposed(name: str, kind: str) -> str:
    return f"{name}_total" if kind == "counter" else name
