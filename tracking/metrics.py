"""`/metrics` for Prometheus, behind a bearer token and an optional address allow-list.

The page lists every view's request counts and latencies and Cairn's own figures
(`docs/metrics.md`): it tells an outsider what the server does and how busy it is, so it is
never public. `METRICS_TOKEN` (README) is compared in constant time;
`METRICS_ALLOWED_ADDRESSES`, when set, also limits who may ask.

Two kinds of figures: event counts, which every process adds to (`tracking/instruments.py`;
with `PROMETHEUS_MULTIPROC_DIR` any process serves the sum of all), and state read from the
database when scraped (`StateCollector` and the collectors other apps add with
`add_state_collector`), the same whichever process answers.
"""

from __future__ import annotations

import hmac
import ipaddress
import platform
from collections.abc import Callable, Iterable, Iterator

from django.conf import settings
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from tracking import instruments
from tracking.auth import bearer_token
from tracking.models import Checkpoint, Measurement, Project, Session

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Iterable[str]) -> list[Network]:
    """Addresses or CIDR networks (`10.0.0.5`, `10.0.0.0/24`, `::1`) as networks."""
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


def address_allowed(address: str | None, networks: list[Network]) -> bool:
    """True when no allow-list is set, or `address` lies in one of its networks."""
    if not networks:
        return True
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in network for network in networks)


def token_matches(header: str, expected: str) -> bool:
    """True when an `Authorization: Bearer <token>` header carries `expected` (constant time)."""
    token = bearer_token(header)
    if token is None or not expected:
        return False
    return hmac.compare_digest(token.encode(), expected.encode())


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """Every metric family, for an allowed address with the right token."""
    networks = parse_networks(settings.METRICS_ALLOWED_ADDRESSES)
    if not address_allowed(request.META.get("REMOTE_ADDR"), networks):
        return HttpResponse("Forbidden.\n", status=403, content_type="text/plain")
    if not token_matches(request.META.get("HTTP_AUTHORIZATION", ""), settings.METRICS_TOKEN):
        response = HttpResponse(
            "Authorization: Bearer <METRICS_TOKEN> required.\n",
            status=401,
            content_type="text/plain",
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)


StateReader = Callable[[], Iterable[Metric]]
_state_readers: list[StateReader] = []


def add_state_collector(reader: StateReader) -> None:
    """Add a function yielding metric families read at scrape time (an app's `ready()`: the
    analytics app adds its anomalies and worker state this way, tracking cannot import it)."""
    if reader not in _state_readers:
        _state_readers.append(reader)


class _Process(Collector):
    """This process's default registry (single-process mode: django-prometheus, ours,
    process_* and python_*)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


class StateCollector(Collector):
    """Figures read from the database when scraped: tracking's, then each added reader's."""

    def collect(self) -> Iterator[Metric]:
        yield from tracking_state()
        for reader in _state_readers:
            yield from reader()


def scrape_registry() -> CollectorRegistry:
    """A registry for one scrape. In multiprocess mode a fresh one over the files of every
    process (prometheus_client's docs: per request, never the global registry)."""
    registry = CollectorRegistry(auto_describe=False)
    if instruments.MULTIPROCESS:
        # A process killed since the last scrape leaves no share in the live gauges.
        instruments.sweep_dead_processes()
        MultiProcessCollector(registry)
    else:
        registry.register(_Process())
    registry.register(StateCollector())
    return registry


COVERAGE_KEY = "coverage.line_percent"


def tracking_state() -> Iterator[Metric]:
    """Active sessions by agent; per project (the `METRICS_MAX_PROJECTS` with the latest
    checkpoints) the latest checkpoint's score and coverage as ratios and its time; build
    info. A figure the latest checkpoint did not measure has no sample (not 0)."""
    active = GaugeMetricFamily(
        "cairn_sessions_active", "Sessions with status active, by agent.", labels=["agent"]
    )
    by_agent = {agent: 0 for agent in instruments.AGENTS}
    rows = Session.objects.filter(status=Session.ACTIVE).values_list("agent")
    for (agent,) in rows.iterator():
        by_agent[instruments.agent_label(agent)] += 1
    for agent, n in by_agent.items():
        active.add_metric([agent], n)
    yield active

    score = GaugeMetricFamily(
        "cairn_quality_score_ratio",
        "Quality Score V2 of the project's latest checkpoint, 0-1 (total / 100).",
        labels=["project"],
    )
    coverage = GaugeMetricFamily(
        "cairn_coverage_ratio",
        "Line coverage of the project's latest checkpoint, 0-1.",
        labels=["project"],
    )
    last = GaugeMetricFamily(
        "cairn_last_checkpoint_timestamp_seconds",
        "Unix time of the project's latest checkpoint.",
        labels=["project"],
    )
    latest = Checkpoint.objects.filter(project=OuterRef("pk")).order_by("-created_at", "-pk")
    latest_ids = list(
        Project.objects.annotate(checkpoint_id=Subquery(latest.values("pk")[:1]))
        .filter(checkpoint_id__isnull=False)
        .values_list("checkpoint_id", flat=True)
    )
    cap = settings.METRICS_MAX_PROJECTS
    kept = list(
        Checkpoint.objects.filter(pk__in=latest_ids)
        .order_by("-created_at", "-pk")
        .values_list("pk", "project__slug", "score_total", "created_at")[:cap]
    )
    measurements = Measurement.objects.filter(
        checkpoint_id__in=[pk for pk, *_ in kept], key=COVERAGE_KEY
    ).values_list("checkpoint_id", "value")
    covered = {pk: value for pk, value in measurements if value is not None}
    for pk, slug, total, created_at in kept:
        last.add_metric([slug], created_at.timestamp())
        if total is not None:
            score.add_metric([slug], total / 100)
        if pk in covered:
            coverage.add_metric([slug], covered[pk] / 100)
    yield score
    yield coverage
    yield last
    yield GaugeMetricFamily(
        "cairn_metrics_projects_omitted",
        "Projects with checkpoints left out of the per-project figures (METRICS_MAX_PROJECTS).",
        value=max(0, len(latest_ids) - cap),
    )
    info = GaugeMetricFamily(
        "cairn_build_info",
        "Always 1: the version of Cairn and Python.",
        labels=["version", "python"],
    )
    info.add_metric([settings.CAIRN_VERSION, platform.python_version()], 1)
    yield info
