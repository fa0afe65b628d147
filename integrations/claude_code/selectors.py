"""What the session page shows about a Claude Code session: reads only, no writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Avg, Count, Max, Q, Sum

from integrations.claude_code.accounting import USAGE_FIELDS, Usage
from integrations.claude_code.pricing import cost_of
from integrations.models import TOKEN_FIELDS, ApiRequest, ClaudeSession, Compaction
from integrations.otlp.figures import cost_until, reports_cost
from tracking.models import Checkpoint, Session, SkillInvocation
from tracking.panels import TokenSource

USAGE_OF_FIELD = dict(zip(TOKEN_FIELDS, USAGE_FIELDS, strict=True))
# A chart of more turns than this shows every n-th one (and always the last).
MAX_CHART_POINTS = 600


@dataclass(frozen=True)
class ToolRow:
    skill: str
    calls: int
    failed: int
    decided: int
    mean_s: float | None
    max_s: float | None

    @property
    def error_rate(self) -> float | None:
        """Failed share of the calls whose outcome is known; None when none is known."""
        return self.failed / self.decided if self.decided else None


@dataclass(frozen=True)
class CheckpointCost:
    checkpoint: Checkpoint
    cost_usd: Decimal | None
    score_change: float | None

    @property
    def change_per_dollar(self) -> float | None:
        if self.score_change is None or not self.cost_usd:
            return None
        return self.score_change / float(self.cost_usd)


def _usage_by_model(requests) -> dict[str, Usage]:
    rows = requests.order_by().values("model").annotate(**{f: Sum(f) for f in TOKEN_FIELDS})
    return {
        row["model"]: Usage(**{USAGE_OF_FIELD[f]: row[f] or 0 for f in TOKEN_FIELDS})
        for row in rows
    }


def _total(by_model: dict[str, Usage]) -> Usage:
    total = Usage()
    for usage in by_model.values():
        total = total + usage
    return total


def token_rows(usage: Usage) -> list[tuple[str, int]]:
    """Tokens by kind with the cache writes split by lifetime (they are priced differently)."""
    return [
        ("Input", usage.input),
        ("Output", usage.output),
        ("Cache write, 5 minutes", usage.cache_creation - usage.cache_creation_1h),
        ("Cache write, 1 hour", usage.cache_creation_1h),
        ("Cache read", usage.cache_read),
    ]


def transcript_tokens(session: Session) -> TokenSource | None:
    """The session's tokens and cost from its imported transcript requests (registered as the
    session page's token source); None without any imported request."""
    requests = ApiRequest.objects.filter(session=session)
    count = requests.count()
    if not count:
        return None
    total = _total(_usage_by_model(requests))
    rows = [*token_rows(total), ("Total", total.context + total.output)]
    detail = f"{count:,} API requests imported from the Claude Code transcript, each counted once"
    return TokenSource("transcript", detail, rows, session.cost_usd)


def context_chart(session: Session) -> dict:
    """Context size of each turn (request) and the compactions, for the chart and its table."""
    turns = list(
        ApiRequest.objects.filter(session=session)
        .order_by("timestamp", "pk")
        .values_list("timestamp", "input_tokens", "cache_read_tokens", "cache_creation_tokens")
    )
    compactions = list(Compaction.objects.filter(session=session).order_by("timestamp"))
    step = max(1, -(-len(turns) // MAX_CHART_POINTS))
    shown = [i for i in range(len(turns)) if i % step == 0 or i == len(turns) - 1]
    labels = [turns[i][0].isoformat() for i in shown]
    sizes = [turns[i][1] + turns[i][2] + turns[i][3] for i in shown]
    # A compaction is drawn on the first shown turn after it, at the size it started from.
    marks: list[int | None] = [None] * len(shown)
    for compaction in compactions:
        for position, index in enumerate(shown):
            if turns[index][0] >= compaction.timestamp:
                marks[position] = compaction.pre_tokens
                break
    return {
        "labels": labels,
        "turns": [i + 1 for i in shown],
        "context": sizes,
        "compactions": marks,
        "count": len(turns),
        "compaction_list": [
            {"at": c.timestamp, "trigger": c.trigger, "pre_tokens": c.pre_tokens}
            for c in compactions
        ],
    }


def tool_rows(session: Session) -> list[ToolRow]:
    """Tool calls by tool, most used first: counts, error rate, durations."""
    rows = (
        SkillInvocation.objects.filter(session=session)
        .order_by()
        .values("skill")
        .annotate(
            calls=Count("pk"),
            failed=Count("pk", filter=Q(completed=False)),
            decided=Count("pk", filter=Q(completed__isnull=False)),
            mean_s=Avg("duration_s"),
            max_s=Max("duration_s"),
        )
        .order_by("-calls", "skill")
    )
    return [ToolRow(**row) for row in rows]


def checkpoint_costs(session: Session, family: list[Session]) -> list[CheckpointCost]:
    """What the work up to each checkpoint cost (since the one before), and the score change
    per dollar. Requests of the session's subagents count toward their parent's checkpoints.

    The cost comes from the timed requests (transcript import or OTLP `api_request`) when
    there are any, otherwise from OTLP's `cost.usage` points as they stood at each checkpoint;
    without either it is not known, which is not the same as $0.00."""
    checkpoints = list(Checkpoint.objects.filter(session=session).order_by("created_at", "pk"))
    requests = ApiRequest.objects.filter(session__in=family)
    ids = [s.pk for s in family]
    cost_at = _requests_cost if requests.exists() else _otlp_cost if reports_cost(ids) else None
    result: list[CheckpointCost] = []
    previous_time: datetime | None = None
    previous_score: float | None = None
    for checkpoint in checkpoints:
        cost = None if cost_at is None else cost_at(family, previous_time, checkpoint.created_at)
        change = None
        if previous_score is not None and checkpoint.score_total is not None:
            change = checkpoint.score_total - previous_score
        result.append(CheckpointCost(checkpoint, cost, change))
        previous_time = checkpoint.created_at
        if checkpoint.score_total is not None:
            previous_score = checkpoint.score_total
    return result


def _requests_cost(
    family: list[Session], since: datetime | None, until: datetime
) -> Decimal | None:
    window = ApiRequest.objects.filter(session__in=family, timestamp__lte=until)
    if since is not None:
        window = window.filter(timestamp__gt=since)
    by_model = _usage_by_model(window)
    return cost_of(by_model) if by_model else Decimal(0)


def _otlp_cost(family: list[Session], since: datetime | None, until: datetime) -> Decimal:
    ids = [s.pk for s in family]
    before = cost_until(ids, since) if since is not None else None
    return (cost_until(ids, until) or Decimal(0)) - (before or Decimal(0))


def session_panel(session: Session) -> dict | None:
    """Everything the Claude Code part of the session page shows; None if there is nothing."""
    own = ApiRequest.objects.filter(session=session)
    children = list(
        session.children.annotate(requests=Count("api_requests")).order_by("started_at", "pk")
    )
    tools = tool_rows(session)
    if not own.exists() and not children and not tools and not reports_cost([session.pk]):
        return None
    by_model = _usage_by_model(own)
    family = [session, *children]
    family_by_model = _usage_by_model(ApiRequest.objects.filter(session__in=family))
    family_cost = cost_of(family_by_model) if family_by_model else None
    requests = own.count()
    return {
        "facts": ClaudeSession.objects.filter(session=session).first(),
        "requests": requests,
        # Tokens are known only from imported requests: without any (tool calls sent through
        # the API, a demo session) they are not measured, which is not the same as 0.
        "tokens": token_rows(_total(by_model)) if requests else None,
        "family_measured": bool(family_by_model),
        "models": [
            {"model": m, "usage": u, "cost": cost_of({m: u})} for m, u in sorted(by_model.items())
        ],
        "family_tokens": _total(family_by_model),
        "family_cost": family_cost,
        "chart": context_chart(session),
        "tools": tools,
        "subagents": children,
        "checkpoints": checkpoint_costs(session, family),
        "costs_note": _costs_note(session, requests or reports_cost([s.pk for s in family])),
    }


def _costs_note(session: Session, timed: int | bool) -> str:
    """Why the cost per checkpoint is not known when the session's tokens are known only as
    totals: a total says nothing of when each token was spent. `timed`: some source (requests,
    OTLP cost points) says when."""
    if timed or not session.tokens_measured:
        return ""
    return (
        "The session's tokens are known only as totals (see “Tokens and cost”): without timed "
        "requests (a transcript, OTLP api_request events) or OTLP cost points the cost "
        "cannot be divided among its checkpoints."
    )
