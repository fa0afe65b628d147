"""Reading scrapes and docs/metrics.md for the monitoring tests."""

from __future__ import annotations

import re

from prometheus_client.parser import text_string_to_metric_families

from tests.analytics.servers import ROOT

ROW = re.compile(r"^\| `(cairn_\w+)` \| (\w+) \| ([^|]*) \|", re.MULTILINE)


def families(text: str) -> dict[str, str]:
    """Family name as exposed (counters with `_total`) → type, of one scrape."""
    found = {}
    for family in text_string_to_metric_families(text):
        name = f"{family.name}_total" if family.type == "counter" else family.name
        found[name] = family.type
    return found


def series_names(text: str) -> set[str]:
    """Every sample name of a scrape (`x_bucket`, `x_total`, …)."""
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}


def documented() -> dict[str, tuple[str, set[str]]]:
    """docs/metrics.md's family table: name → (type, label names)."""
    text = (ROOT / "docs" / "metrics.md").read_text()
    table = {}
    for name, kind, labels in ROW.findall(text):
        table[name] = (kind, set(re.findall(r"`(\w+)`", labels)))
    return table


def sample(text: str, name: str, **labels: str) -> float:
    """The value of the one sample with this name and these labels; fails when absent."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return s.value
    raise AssertionError(f"no sample {name}{labels}")
