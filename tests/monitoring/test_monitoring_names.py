"""Every metric the Grafana dashboard and the alert rules read is exported by a real scrape of
a running Cairn after some traffic; the dashboard has its variables and panels."""

from __future__ import annotations

import json

import promql_parser
import yaml

from tests.analytics.servers import ROOT
from tests.monitoring.scrapes import series_names

DASHBOARD = ROOT / "monitoring" / "grafana" / "cairn.json"
RULES = ROOT / "monitoring" / "prometheus" / "rules.yml"
# Grafana's variables, as a query would be sent for one choice of them.
VARIABLES = {
    "$__rate_interval": "5m",
    "$__range": "6h",
    "$__interval": "1m",
    "$job": "cairn",
    "$project": "alpha",
}
# Series Prometheus makes itself, not Cairn.
PROMETHEUS_OWN = {"up"}


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects, from its syntax tree."""
    names: set[str] = set()

    def visit(node, *_):
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.add(node.name)
        return True

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names


def dashboard_exprs() -> list[str]:
    exprs = []
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable, value in VARIABLES.items():
                expr = expr.replace(variable, value)
            exprs.append(expr)
    return exprs


def rules() -> list[dict]:
    return [
        rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]
    ]


def test_the_parser_finds_every_selector():
    expr = 'sum(rate(a_total[5m])) / on (x) b or absent(c{j="k"}) - (d offset 1d) + time()'
    assert metric_names(expr) == {"a_total", "b", "c", "d"}


def test_every_metric_of_the_dashboard_is_exported(scrape_after_traffic):
    used = set().union(*(metric_names(expr) for expr in dashboard_exprs()))
    assert len(used) >= 30
    assert used - PROMETHEUS_OWN - series_names(scrape_after_traffic) == set()


def test_every_metric_of_the_rules_is_exported_or_recorded(scrape_after_traffic):
    recorded = {rule["record"] for rule in rules() if "record" in rule}
    used = set().union(*(metric_names(rule["expr"]) for rule in rules()))
    missing = used - recorded - PROMETHEUS_OWN - series_names(scrape_after_traffic)
    assert missing == set()
    assert recorded <= used  # every recording rule is used by an alert


def test_the_dashboard_has_24_panels_on_the_datasource_variable():
    dashboard = json.loads(DASHBOARD.read_text())
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert {"job", "project"} <= set(variables)
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert len(panels) >= 24
    source = {"type": "prometheus", "uid": "${datasource}"}
    for panel in panels:
        assert panel["datasource"] == source, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == source, panel["title"]
            assert 'job="$job"' in target["expr"], panel["title"]
    assert len({(p["gridPos"]["x"], p["gridPos"]["y"]) for p in panels}) == len(panels)
