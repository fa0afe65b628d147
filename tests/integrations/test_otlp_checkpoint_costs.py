"""Cost per checkpoint from OTLP's `cost.usage` points when no request is timed: each
checkpoint costs what the running total rose by since the checkpoint before it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from integrations.claude_code.selectors import checkpoint_costs
from tests.integrations.otlp_requests import SESSION, metrics, post
from tracking.models import Checkpoint, Session

pytestmark = pytest.mark.django_db
S = 10**9
T0 = 1_796_000_000  # 2026-11-30 (seconds)


def moment(seconds: int) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, UTC)


def test_each_checkpoint_costs_the_rise_of_the_running_total(client, write_key, owner_client):
    def cost(value: float, at: int):
        point = ("cost.usage", {"model": "claude-opus-4-6"}, value, T0 * S, (T0 + at) * S)
        return metrics([point], temporality=2)

    # Cumulative running totals at 100 s, 200 s and 400 s, one retried.
    for export in (cost(0.25, 100), cost(0.75, 200), cost(0.75, 200), cost(2.0, 400)):
        assert post(client, "metrics", export, write_key).status_code == 200
    session = Session.objects.get(external_id=SESSION)
    for kind, at, score in (("start", 150, 40.0), ("manual", 250, 44.0), ("end", 500, 45.0)):
        Checkpoint.objects.create(
            project=session.project, session=session, kind=kind, score_total=score,
            created_at=moment(at),
        )  # fmt: skip

    costs = checkpoint_costs(session, [session])
    # By 150 s: 0.25; by 250 s: 0.75 (0.50 more); by 500 s: 2.00 (1.25 more).
    assert [c.cost_usd for c in costs] == [Decimal("0.25"), Decimal("0.5"), Decimal("1.25")]
    assert costs[2].change_per_dollar == pytest.approx(1.0 / 1.25)

    page = owner_client.get(session.get_absolute_url()).content.decode()
    table = page.split('id="checkpoint-costs"', 1)[1].split("</section>", 1)[0]
    assert "$1.25" in table and "not known" not in table
    assert "known only as totals" not in table


def test_without_cost_points_the_cost_stays_not_known(client, write_key):
    tokens = ("token.usage", {"type": "input", "model": "claude-opus-4-6"}, 500, T0 * S, T0 * S)
    assert post(client, "metrics", metrics([tokens]), write_key).status_code == 200
    session = Session.objects.get(external_id=SESSION)
    Checkpoint.objects.create(project=session.project, session=session, kind="start",
                              created_at=moment(10))  # fmt: skip
    assert [c.cost_usd for c in checkpoint_costs(session, [session])] == [None]
