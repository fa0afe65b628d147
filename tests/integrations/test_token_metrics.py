"""An import counts the tokens it stores, by model family and type, once: importing the same
files again adds nothing to `cairn_tokens_total` or `cairn_cost_usd_total`."""

from __future__ import annotations

from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from prometheus_client import REGISTRY

from integrations.models import ApiRequest
from tracking import instruments

pytestmark = pytest.mark.django_db

TYPES = {
    "input": "input_tokens",
    "output": "output_tokens",
    "cache_read": "cache_read_tokens",
    "cache_creation": "cache_creation_tokens",
}


def counted() -> dict[tuple[str, str], float]:
    return {
        (model, kind): REGISTRY.get_sample_value(
            "cairn_tokens_total", {"model": model, "type": kind}
        )
        or 0.0
        for model in instruments.MODEL_FAMILIES
        for kind in TYPES
    }


def cost() -> dict[str, float]:
    return {
        model: REGISTRY.get_sample_value("cairn_cost_usd_total", {"model": model}) or 0.0
        for model in instruments.MODEL_FAMILIES
    }


def test_imported_tokens_are_counted_once_by_family(transcripts_copy):
    before, cost_before = counted(), cost()
    call_command("import_transcripts", str(transcripts_copy), stdout=StringIO())
    added = {key: value - before[key] for key, value in counted().items()}
    stored: Counter[tuple[str, str]] = Counter()
    for request in ApiRequest.objects.all():
        for kind, field in TYPES.items():
            stored[instruments.model_family(request.model), kind] += getattr(request, field)
    assert {k: v for k, v in added.items() if v} == {k: v for k, v in stored.items() if v}
    assert added["claude-opus", "cache_read"] > 0
    spent = {model: value - cost_before[model] for model, value in cost().items()}
    assert spent["claude-opus"] > 0
    assert spent["gpt"] == 0

    again = counted()
    call_command("import_transcripts", str(transcripts_copy), stdout=StringIO())
    assert counted() == again
