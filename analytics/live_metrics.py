"""Prometheus metrics of the live WebSocket API, exported on each process's /metrics.

Counts are per process (each Daphne process is scraped on its own); sum them in queries.
Fan-out is timed per frame and process, the snapshot build per tick where the ticker runs.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

connections = Gauge("cairn_live_connections", "Open /ws/live/ connections in this process.")
# Set by analytics.fanout to a function counting its members when scraped; equals
# `connections` unless a consumer that ended was left behind.
fanout_members = Gauge(
    "cairn_live_fanout_members", "Clients in this process's fan-out, each counted once."
)
frames_sent = Counter(
    "cairn_live_frames_sent_total", "Frames handed to live clients (metrics_update and events)."
)
frames_dropped = Counter(
    "cairn_live_frames_dropped_total", "Frames not sent to a client over its buffer limit."
)
slow_readers_closed = Counter(
    "cairn_live_slow_readers_closed_total", "Connections closed for not reading (4008)."
)
fanout_seconds = Histogram(
    "cairn_live_fanout_seconds",
    "Time to hand one frame to all local clients of its group.",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
snapshot_build_seconds = Histogram(
    "cairn_live_snapshot_build_seconds",
    "Time to read and build one tick's snapshots from the rollups.",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)

# Fan-out frames written to clients, by path (analytics.wire): "direct" is one socket write of
# the frame built once, "twisted" autobahn's queued send (something was queued before it, or the
# socket refused the write), "asgi" the plain ASGI send (not Daphne, or Daphne's internals were
# not recognised). Plain ints, exported when scraped: the per-client send loop is the hot path,
# and a Prometheus counter takes a lock on every increment.
frames_written = {"direct": 0, "twisted": 0, "asgi": 0}


class _FramesWritten(Collector):
    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "cairn_live_frames_written",
            "Fan-out frames written to live clients, by path (direct, twisted, asgi).",
            labels=["path"],
        )
        for path, count in frames_written.items():
            family.add_metric([path], count)
        yield family


REGISTRY.register(_FramesWritten())
