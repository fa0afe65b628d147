"""What tokens cost: a versioned price table (pricing.json), overridable in settings.

`CAIRN_MODEL_PRICES = {"claude-opus-4-6": {"input": "5", "output": "25", "cache_write_5m":
"6.25", "cache_write_1h": "10", "cache_read": "0.5"}}` (USD per million tokens) adds or replaces
models. A model without a price has no cost ("not known"), never a cost of 0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

from django.conf import settings

from integrations.claude_code.accounting import Usage
from tracking import instruments

TABLE_PATH = Path(__file__).with_name("pricing.json")
MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class Price:
    """USD per million tokens of each kind."""

    input: Decimal
    output: Decimal
    cache_write_5m: Decimal
    cache_write_1h: Decimal
    cache_read: Decimal

    @classmethod
    def from_dict(cls, data: dict) -> Price:
        return cls(**{name: Decimal(str(data[name])) for name in cls.__dataclass_fields__})

    def cost(self, usage: Usage) -> Decimal:
        # Tokens whose split is unknown were written as 5-minute cache entries.
        five_minute = usage.cache_creation - usage.cache_creation_1h
        total = (
            usage.input * self.input
            + usage.output * self.output
            + five_minute * self.cache_write_5m
            + usage.cache_creation_1h * self.cache_write_1h
            + usage.cache_read * self.cache_read
        )
        return total / MILLION


@cache
def _file_table() -> tuple[str, dict[str, Price]]:
    data = json.loads(TABLE_PATH.read_text())
    return data["version"], {model: Price.from_dict(p) for model, p in data["models"].items()}


def table_version() -> str:
    return _file_table()[0]


def price_table() -> dict[str, Price]:
    """The file's prices with the settings' overrides on top."""
    table = dict(_file_table()[1])
    for model, data in getattr(settings, "CAIRN_MODEL_PRICES", {}).items():
        table[model] = Price.from_dict(data)
    return table


def price_for(model: str, table: dict[str, Price] | None = None) -> Price | None:
    """The price of `model`: its own entry, else the longest entry it is a dated version of
    (`claude-sonnet-4-5-20250929` → `claude-sonnet-4-5`)."""
    table = price_table() if table is None else table
    if model in table:
        return table[model]
    best = None
    for name in table:
        if model.startswith(name + "-") and (best is None or len(name) > len(best)):
            best = name
    return table[best] if best else None


def count_usage(added: dict[str, Usage]) -> None:
    """Count tokens a batch added ({model: usage}) and their cost by model family
    (`cairn_tokens_total`, `cairn_cost_usd_total`); a model without a price adds no cost."""
    table = price_table()
    counts = {
        model: {
            "input": u.input,
            "output": u.output,
            "cache_read": u.cache_read,
            "cache_creation": u.cache_creation,
        }
        for model, u in added.items()
    }
    costs = {}
    for model, usage in added.items():
        price = price_for(model, table)
        if price is not None:
            costs[model] = float(price.cost(usage))
    instruments.count_tokens(counts, costs)


def cost_of(by_model: dict[str, Usage], table: dict[str, Price] | None = None) -> Decimal | None:
    """Total USD of the usage per model; None when a model that used tokens has no price."""
    table = price_table() if table is None else table
    total = Decimal(0)
    for model, usage in by_model.items():
        if usage.is_zero:
            continue
        price = price_for(model, table)
        if price is None:
            return None
        total += price.cost(usage)
    return total
