"""The alert rules pass promtool's checks and unit tests; every alert has its annotations, a
runbook section, and unit tests both firing and not firing; the example config is valid."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml

from tests.analytics.servers import ROOT

PROMETHEUS = ROOT / "monitoring" / "prometheus"
RUNBOOK = ROOT / "docs" / "runbook.md"

pytestmark = pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool missing")


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - fixed argument list
        ["promtool", *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=120
    )


def alerts() -> list[dict]:
    groups = yaml.safe_load((PROMETHEUS / "rules.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_promtool_checks_the_rules():
    result = promtool("check", "rules", "--lint=all", "--lint-fatal", "rules.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 18 rules found" in result.stdout


def test_promtool_unit_tests_pass():
    result = promtool("test", "rules", "rules.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_fails_a_wrong_expectation(tmp_path):
    # The unit tests can fail: the same file with one expected summary changed does.
    shutil.copy(PROMETHEUS / "rules.yml", tmp_path / "rules.yml")
    tests = (PROMETHEUS / "rules.test.yml").read_text()
    (tmp_path / "rules.test.yml").write_text(tests.replace("Spending 30.00 USD/h", "Spending 3"))
    result = subprocess.run(  # noqa: S603
        ["promtool", "test", "rules", "rules.test.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "Spending 30.00 USD/h" in result.stdout + result.stderr


def test_the_example_config_is_valid(tmp_path):
    # As deployed: the token file beside it (promtool checks that it exists).
    config = (PROMETHEUS / "prometheus.yml").read_text()
    token = tmp_path / "cairn_metrics_token"
    token.write_text("a-token\n")
    assert "/etc/prometheus/cairn_metrics_token" in config
    (tmp_path / "prometheus.yml").write_text(
        config.replace("/etc/prometheus/cairn_metrics_token", str(token))
    )
    shutil.copy(PROMETHEUS / "rules.yml", tmp_path / "rules.yml")
    result = promtool("check", "config", str(tmp_path / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_at_least_11_alerts_each_with_severity_annotations_and_runbook_section():
    headings = set(re.findall(r"^## (\w+)$", RUNBOOK.read_text(), re.MULTILINE))
    rules = alerts()
    assert len(rules) >= 11
    for rule in rules:
        name = rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, name
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name
        assert rule["annotations"]["runbook_url"] == f"docs/runbook.md#{name.lower()}", name
        assert name in headings, name
    assert headings == {rule["alert"] for rule in rules}


def test_every_alert_is_tested_firing_and_not_firing():
    groups = yaml.safe_load((PROMETHEUS / "rules.test.yml").read_text())["tests"]
    firing: set[str] = set()
    silent: set[str] = set()
    for group in groups:
        for case in group.get("alert_rule_test", []):
            (firing if case["exp_alerts"] else silent).add(case["alertname"])
    names = {rule["alert"] for rule in alerts()}
    assert firing == names
    assert silent == names
