"""A lean WebSocket load client for /ws/live/ that measures delivery and latency.

Each connection is the `websockets` Sans-I/O protocol driven from an `asyncio.Protocol`: no
task per connection, and the receive time is taken in `data_received`, before any parsing.
A client costs little, so the figures measure the server, not the client (measured: a
task-per-connection client adds 170–300 ms to p99 at 5,000 clients).
Clients can be spread over several processes; the parent aggregates and samples the server.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import platform
import sys
import time
from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection, wait

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.typing import Origin
from websockets.uri import parse_uri

from lib.stats import percentile

CONNECT_CONCURRENCY = 100
CONNECT_TIMEOUT = 15.0
WARM_UP = 1.5
GRACE = 2.0
MARKER = b'"type":"metrics_update"'


@dataclass
class Options:
    urls: list[str]
    clients: int
    duration: float
    ramp: float = 0.0
    subscribe: str = "all"
    target: str = ""
    token: str = ""
    processes: int = 1
    server_pids: list[int] = field(default_factory=list)


@dataclass
class WorkerStats:
    connected: int = 0
    failed: int = 0
    closed: int = 0
    messages: int = 0
    other_frames: int = 0
    error_frames: int = 0
    dropped: int = 0
    tick_seconds: float | None = None
    errors: Counter = field(default_factory=Counter)
    latencies: array = field(default_factory=lambda: array("d"))
    window: tuple[float, float] | None = None
    ticks: set[int] = field(default_factory=set)


def subscribe_message(options: Options) -> bytes | None:
    if options.subscribe == "all":
        return None  # every client starts subscribed to all it may see
    key = "skill" if options.subscribe == "skill" else "project"
    return json.dumps({"type": "subscribe", key: options.target}).encode()


class LiveClient(asyncio.Protocol):
    """One connection: handshake, optional subscribe, then count frames and latency."""

    def __init__(self, stats: WorkerStats, options: Options, url: str, times: dict[bytes, float]):
        self.stats = stats
        self.subscribe = subscribe_message(options)
        self.times = times
        uri = parse_uri(url)
        scheme = "https" if uri.secure else "http"
        self.ws = ClientProtocol(uri, origin=Origin(f"{scheme}://{uri.host}:{uri.port}"))
        self.token = options.token
        self.ready: asyncio.Future = asyncio.get_running_loop().create_future()
        self.last_seq: int | None = None
        self.transport: asyncio.Transport | None = None
        self.expect_close = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        request = self.ws.connect()
        if self.token:
            request.headers["Authorization"] = f"Bearer {self.token}"
        self.ws.send_request(request)
        self.flush()

    def flush(self) -> None:
        if self.transport is None:  # not connected yet: connection_made flushes
            return
        for data in self.ws.data_to_send():
            if data:
                self.transport.write(data)
            else:
                self.transport.close()

    def data_received(self, data: bytes) -> None:
        received = time.time()
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Frame):
                if event.opcode is Opcode.TEXT:
                    self.on_text(received, bytes(event.data))
            elif isinstance(event, Response) and self.ws.handshake_exc is not None:
                self.fail(f"handshake: {self.ws.handshake_exc}")
        self.flush()

    def on_text(self, received: float, data: bytes) -> None:
        if MARKER in data[:40]:
            self.on_update(received, data)
            return
        frame = json.loads(data)
        kind = frame.get("type")
        if kind == "connected":
            self.stats.tick_seconds = frame.get("tick_seconds")
            if self.subscribe:
                self.ws.send_text(self.subscribe)
        elif kind == "subscription_confirmed":
            # With a subscribe to send, the default `all` confirmation is not the one awaited.
            awaited = self.subscribe is None or frame.get("scope") != {"kind": "all"}
            if awaited and not self.ready.done():
                self.ready.set_result(True)
        elif kind == "error":
            if not self.ready.done():
                self.fail(f"error frame: {frame.get('code')}")  # counted as a failed connect
            else:
                self.stats.error_frames += 1
                self.stats.errors[f"error frame: {frame.get('code')}"] += 1
        else:
            self.stats.other_frames += 1

    def on_update(self, received: float, data: bytes) -> None:
        # The window is on server time: a tick is in or out for every client alike, and a
        # late delivery still counts (as latency), so "every message delivered" is exact.
        stamp_at = data.index(b'"server_time":"') + 15
        stamp = data[stamp_at : stamp_at + 27]
        sent = self.times.get(stamp)
        if sent is None:
            sent = datetime.fromisoformat(stamp.decode()).timestamp()
            if len(self.times) > 64:
                self.times.clear()
            self.times[stamp] = sent
        window = self.stats.window
        if window is None or not window[0] <= sent < window[1]:
            return
        seq_at = data.index(b'"seq":') + 6
        seq = int(data[seq_at : data.index(b",", seq_at)])
        self.stats.ticks.add(seq)
        self.stats.messages += 1
        self.stats.latencies.append(received - sent)
        if self.last_seq is not None and seq > self.last_seq + 1:
            self.stats.dropped += seq - self.last_seq - 1
        self.last_seq = seq

    def fail(self, reason: str) -> None:
        self.expect_close = True  # counted as a failed connect, not also as a close
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(reason))
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError("closed during the handshake"))
        elif not self.expect_close:
            self.stats.closed += 1
            code = self.ws.close_rcvd.code if self.ws.close_rcvd else "no close frame"
            self.stats.errors[f"closed: {code}"] += 1

    def close(self) -> None:
        self.expect_close = True
        if self.transport is not None:
            self.transport.abort()


async def open_clients(
    options: Options, first: int, count: int, stats: WorkerStats
) -> list[LiveClient]:
    """Open clients number first … first + count − 1, spread round-robin over the URLs."""
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    times: dict[bytes, float] = {}
    clients: list[LiveClient] = []

    async def open_one(index: int) -> None:
        if options.ramp:
            await asyncio.sleep(options.ramp * index / count)
        url = options.urls[(first + index) % len(options.urls)]
        # parse_uri, unlike urlsplit, fills in the scheme's default port.
        uri = parse_uri(url)
        async with gate:
            try:
                _, client = await asyncio.wait_for(
                    loop.create_connection(
                        lambda: LiveClient(stats, options, url, times), uri.host, uri.port
                    ),
                    CONNECT_TIMEOUT,
                )
                clients.append(client)
                await asyncio.wait_for(client.ready, CONNECT_TIMEOUT)
                stats.connected += 1
            except (OSError, ConnectionError, TimeoutError) as exc:
                stats.failed += 1
                stats.errors[f"connect: {str(exc)[:80] or type(exc).__name__}"] += 1

    await asyncio.gather(*(open_one(i) for i in range(count)))
    return clients


async def worker_main(options: Options, first: int, count: int, pipe) -> None:
    """A worker: connect `count` clients, report ready, measure the window it is given."""
    stats = WorkerStats()
    clients = await open_clients(options, first, count, stats)
    pipe.send(("ready", stats.connected, stats.failed))
    loop = asyncio.get_running_loop()
    start = await loop.run_in_executor(None, pipe.recv)
    stats.window = (start, start + options.duration)
    while time.time() < stats.window[1]:
        await asyncio.sleep(min(1.0, max(0.0, stats.window[1] - time.time())))
        pipe.send(("progress", stats.messages))
    await asyncio.sleep(GRACE)  # frames stamped inside the window still in flight
    for client in clients:
        client.close()
    stats.window = None
    pipe.send(("done", _stats_dict(stats)))


def _stats_dict(stats: WorkerStats) -> dict:
    return {
        "connected": stats.connected,
        "failed": stats.failed,
        "closed": stats.closed,
        "messages": stats.messages,
        "other_frames": stats.other_frames,
        "error_frames": stats.error_frames,
        "dropped": stats.dropped,
        "tick_seconds": stats.tick_seconds,
        "ticks": sorted(stats.ticks),
        "errors": dict(stats.errors),
        "latencies": stats.latencies.tobytes(),
        "cpu": time.process_time(),
    }


def _worker_process(options: Options, first: int, count: int, pipe) -> None:
    asyncio.run(worker_main(options, first, count, pipe))


def proc_sample(pid: int) -> tuple[float, float] | None:
    """(CPU seconds used, RSS in MB) of a process, from /proc; None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/status") as status:
            rss = next(line for line in status if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks, int(rss.split()[1]) / 1024


def run(options: Options, progress=None) -> dict:
    """Run the load test and return its report; `progress(line)` is called about once a second."""
    say = progress or (lambda line: None)
    counts = [
        options.clients // options.processes + (i < options.clients % options.processes)
        for i in range(options.processes)
    ]
    context = multiprocessing.get_context("fork")
    pipes: list[Connection] = []
    workers: list[multiprocessing.context.ForkProcess] = []
    for index, count in enumerate(counts):
        parent, child = context.Pipe()
        first = sum(counts[:index])
        worker = context.Process(target=_worker_process, args=(options, first, count, child))
        worker.start()
        pipes.append(parent)
        workers.append(worker)
    ready = _wait_ready(pipes, options, say)
    start = time.time() + WARM_UP
    for pipe in pipes:
        pipe.send(start)
    before = {pid: proc_sample(pid) for pid in options.server_pids}
    results = _collect(pipes, start, options, say)
    after = {pid: proc_sample(pid) for pid in options.server_pids}
    for worker in workers:
        worker.join(timeout=10)
    return report(options, ready, results, before, after)


def _readable(pipes: Iterable[Connection], timeout: float) -> list[Connection]:
    """The pipes that have something to read (`wait` returns the objects it is given)."""
    return [pipe for pipe in wait(list(pipes), timeout) if isinstance(pipe, Connection)]


def _wait_ready(pipes: list[Connection], options: Options, say) -> tuple[int, int]:
    connected = failed = 0
    pending = set(pipes)
    began = time.monotonic()
    while pending:
        for pipe in _readable(pending, timeout=1.0):
            _, ok, bad = pipe.recv()
            connected, failed = connected + ok, failed + bad
            pending.discard(pipe)
        say(f"connecting {options.clients} clients … {time.monotonic() - began:.0f} s")
    say(f"connected {connected}, failed {failed} in {time.monotonic() - began:.1f} s")
    return connected, failed


def _collect(pipes: list[Connection], start: float, options: Options, say) -> list[dict]:
    latest = dict.fromkeys(pipes, 0)
    results: dict[Connection, dict] = {}
    while len(results) < len(pipes):
        for pipe in _readable([p for p in pipes if p not in results], timeout=1.0):
            kind, value = pipe.recv()
            if kind == "progress":
                latest[pipe] = value
            else:
                results[pipe] = value
        elapsed = max(0.0, time.time() - start)
        total = sum(latest.values())
        rate = total / elapsed if elapsed > 0 else 0.0
        say(f"t={elapsed:5.1f}/{options.duration:.0f} s  messages {total}  {rate:,.0f} msg/s")
    return list(results.values())


def report(options: Options, ready, results: list[dict], before: dict, after: dict) -> dict:
    latencies: list[float] = []
    errors: Counter = Counter()
    for result in results:
        chunk = array("d")
        chunk.frombytes(result["latencies"])
        latencies.extend(chunk)
        errors.update(result["errors"])
    latencies.sort()
    total = {k: sum(r[k] for r in results) for k in ("messages", "closed", "dropped")}
    tick = next((r["tick_seconds"] for r in results if r["tick_seconds"]), None)
    connected = ready[0]
    ideal = connected / tick if tick else None
    rate = total["messages"] / options.duration
    ticks = len({seq for r in results for seq in r["ticks"]})
    expected = connected * ticks
    return {
        "urls": options.urls,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "clients": options.clients,
        "processes": options.processes,
        "duration_s": options.duration,
        "ramp_s": options.ramp,
        "subscribe": options.subscribe,
        "tick_seconds": tick,
        "connected": connected,
        "failed": ready[1],
        "closed_unexpectedly": total["closed"],
        "messages": total["messages"],
        "messages_per_s": round(rate, 1),
        "ideal_messages_per_s": ideal,
        "ticks_in_window": ticks,
        "expected_messages": expected,
        "delivered_ratio": round(total["messages"] / expected, 4) if expected else None,
        "dropped": total["dropped"],
        "errors": ready[1] + total["closed"] + sum(r["error_frames"] for r in results),
        "error_detail": dict(errors),
        "latency_ms": _latency(latencies),
        "server": [_server(pid, before[pid], after[pid], options.duration) for pid in before],
        "client_cpu_s": round(sum(r["cpu"] for r in results), 2),
    }


def _latency(ordered: list[float]) -> dict | None:
    if not ordered:
        return None
    ms = [round(percentile(ordered, q) * 1000, 1) for q in (50, 95, 99)]
    return {"n": len(ordered), "p50": ms[0], "p95": ms[1], "p99": ms[2],
            "max": round(ordered[-1] * 1000, 1)}  # fmt: skip


def _server(pid: int, before, after, duration: float) -> dict:
    if before is None or after is None:
        return {"pid": pid, "cpu_percent": None, "rss_mb": None}
    cpu = (after[0] - before[0]) / duration * 100
    return {"pid": pid, "cpu_percent": round(cpu, 1), "rss_mb": round(after[1], 1)}


def _machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "system": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
    }


def summary(result: dict) -> str:
    """The report as lines for people."""
    lat = result["latency_ms"]
    latency = (
        f"p50 {lat['p50']} / p95 {lat['p95']} / p99 {lat['p99']} / max {lat['max']} ms "
        f"(n={lat['n']})"
        if lat
        else "not measured (no frames in the window)"
    )
    ideal = result["ideal_messages_per_s"]
    lines = [
        f"clients: {result['connected']} connected, {result['failed']} failed "
        f"(of {result['clients']}, {result['processes']} client process(es))",
        f"messages: {result['messages']} in {result['duration_s']:.0f} s = "
        f"{result['messages_per_s']:,} msg/s" + (f" (ideal {ideal:,.0f})" if ideal else ""),
        f"delivered: {result['messages']} of {result['expected_messages']} "
        f"({result['ticks_in_window']} ticks × {result['connected']} clients)"
        + (f" = {result['delivered_ratio']:.2%}" if result["delivered_ratio"] else ""),
        f"latency (server_time → received): {latency}",
        f"dropped (seq gaps): {result['dropped']}; errors: {result['errors']}"
        + (f" {result['error_detail']}" if result["error_detail"] else ""),
    ]
    for server in result["server"]:
        lines.append(
            f"server pid {server['pid']}: CPU {server['cpu_percent']} %, RSS {server['rss_mb']} MB"
        )
    return "\n".join(lines)
