#!/usr/bin/env python3
"""Soak: matching, submissions, retractions and replication together on a three-process loopback consortium.

    python bench/soak.py --minutes 10 --warmup-minutes 2

Three `hashnode serve` processes (insecure loopback mode, example keys) replicate with each other. Meanwhile:

* each node takes a Submit batch of `--batch` PDQ records `--submit-rate` times a second, and retracts its
  oldest batch once it has `--window` batches active, so the active set (and the PDQ index) reaches a steady
  size while the store keeps growing (retracted records stay stored, as in production);
* `--matchers` threads send `--match-rate` Match calls a second in all, spread over the nodes, each with
  `--match-batch` queries (half the values of active records, half random);
* every `--interval` seconds a line per node: resident memory (all, anonymous, file-backed: the LMDB pages
  mapped), entries held, and for the interval: calls per second, p99 latency and errors.

At the end: totals, overall p99s, errors (goal 0), whether the nodes converged, ERROR lines in the node logs,
and each node's memory growth after the warm-up (goal < 5%). The file-backed part is the LMDB pages the
process has touched: it grows with the store (every record, retracted or not, and the match log stay on
disk) and is page cache the kernel can reclaim; the anonymous part (heap, index) is where a leak shows.
"""

from __future__ import annotations

import argparse
import collections
import functools
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import grpc

from node.api.gen.hashnode.v1 import client_pb2
from testkit.checks import pdq_value, submit_batch
from testkit.consortium import LocalConsortium, ProcessNode

MB = 1 << 20
T = TypeVar("T")


@dataclass
class Meter:
    """Latencies and errors of one kind of call, per interval and in all. Thread-safe."""

    name: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    interval: list[float] = field(default_factory=list)
    total: list[float] = field(default_factory=list)
    errors: int = 0
    interval_errors: int = 0
    error_kinds: collections.Counter[str] = field(default_factory=collections.Counter)

    def timed(self, call: Callable[[], T]) -> T | None:
        """The call's result, timed; None (and an error counted) when it failed."""
        start = time.perf_counter()
        try:
            result = call()
        except grpc.RpcError as exc:
            with self.lock:
                self.errors += 1
                self.interval_errors += 1
                self.error_kinds[f"{exc.code().name}: {exc.details()}"[:120]] += 1
            return None
        elapsed = time.perf_counter() - start
        with self.lock:
            self.interval.append(elapsed)
            self.total.append(elapsed)
        return result

    def take_interval(self) -> tuple[list[float], int]:
        with self.lock:
            values, errors = self.interval, self.interval_errors
            self.interval, self.interval_errors = [], 0
        return values, errors


def p99_ms(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


class Workload:
    def __init__(self, consortium: LocalConsortium, args: argparse.Namespace) -> None:
        self.nodes = list(consortium.nodes.values())
        self.args = args
        self.stop = threading.Event()
        self.submits, self.retracts, self.matches = Meter("submit"), Meter("retract"), Meter("match")
        self.active: dict[str, collections.deque[dict[str, str]]] = {n.name: collections.deque() for n in self.nodes}
        self.active_lock = threading.Lock()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for node in self.nodes:
            self._thread(self._submitter, node)
        for i in range(self.args.matchers):
            self._thread(self._matcher, i)

    def _thread(self, target: Callable[..., None], arg: object) -> None:
        thread = threading.Thread(target=target, args=(arg,), daemon=True)
        self.threads.append(thread)
        thread.start()

    def join(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(30)

    def _submitter(self, node: ProcessNode) -> None:
        client, period, n = node.client, 1.0 / self.args.submit_rate, 0
        deadline = time.monotonic()
        while not self.stop.is_set():
            n += 1
            tag = f"soak {node.name} {n} {time.time_ns()}"
            acked = self.submits.timed(functools.partial(submit_batch, client, tag, self.args.batch, timeout=30))
            if acked is not None:
                with self.active_lock:
                    batches = self.active[node.name]
                    batches.append(acked)
                    oldest = batches.popleft() if len(batches) > self.args.window else None
                if oldest:
                    request = client_pb2.RetractRequest(record_ids=sorted(oldest), reason="soak: rotated out")
                    self.retracts.timed(functools.partial(client.Retract, request, timeout=30))
            deadline += period
            self.stop.wait(max(0.0, deadline - time.monotonic()))

    def _matcher(self, index: int) -> None:
        rng = random.Random(index)
        period = self.args.matchers / self.args.match_rate
        deadline = time.monotonic()
        while not self.stop.is_set():
            node = self.nodes[rng.randrange(len(self.nodes))]
            with self.active_lock:
                batches = [b for bs in self.active.values() for b in list(bs)[-20:]]
            known = [v for batch in rng.sample(batches, min(3, len(batches))) for v in batch.values()]
            half = self.args.match_batch // 2
            values = rng.sample(known, min(half, len(known)))
            values += [pdq_value(f"random {rng.random()}") for _ in range(self.args.match_batch - len(values))]
            request = client_pb2.MatchRequest(
                queries=[client_pb2.HashQuery(signal_type="pdq", value=v) for v in values]
            )
            self.matches.timed(functools.partial(node.client.Match, request, timeout=30))
            deadline += period
            self.stop.wait(max(0.0, deadline - time.monotonic()))


def sample(
    workload: Workload,
    elapsed: float,
    interval: float,
    history: dict[str, list[dict[str, int]]],
    load: bool = True,
) -> None:
    lines = []
    for node in workload.nodes:
        memory = node.memory()
        stats = node.stats(timeout=30)
        memory["entries"], memory["disk"] = int(stats.entries), int(stats.disk_bytes)
        history[node.name].append({**memory, "t": int(elapsed), "load": int(load)})
        lines.append(
            f"  {node.name}: rss {memory['rss'] / MB:6.1f} MB  anon {memory['anon'] / MB:6.1f}  "
            f"file {memory['file'] / MB:6.1f}  store on disk {memory['disk'] / MB:6.1f} MB  "
            f"entries {memory['entries']}"
        )
    parts = []
    for meter in (workload.submits, workload.retracts, workload.matches):
        values, errors = meter.take_interval()
        parts.append(f"{meter.name} {len(values) / interval:5.1f}/s p99 {p99_ms(values):6.1f} ms err {errors}")
    print(f"t={elapsed:6.0f} s  " + " | ".join(parts), flush=True)
    for line in lines:
        print(line, flush=True)


def growth(points: list[dict[str, int]], key: str, since: float) -> tuple[float, float, float]:
    """Mean of the first three samples at or after `since` and of the last three taken under load, and the
    change between them in percent (single samples are noisy: the allocator and the index's merges)."""
    loaded = [p for p in points if p["load"]]
    after = [p for p in loaded if p["t"] >= since] or loaded
    first = sum(p[key] for p in after[:3]) / len(after[:3])
    last = sum(p[key] for p in after[-3:]) / len(after[-3:])
    return first, last, (last - first) / first * 100 if first else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--warmup-minutes", type=float, default=2.0)
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between samples (default 30)")
    parser.add_argument("--submit-rate", type=float, default=2.0, help="batches per second per node (default 2)")
    parser.add_argument("--batch", type=int, default=10, help="records per batch (default 10)")
    parser.add_argument("--window", type=int, default=200, help="active batches kept per node (default 200)")
    parser.add_argument("--matchers", type=int, default=2)
    parser.add_argument("--match-rate", type=float, default=40.0, help="Match calls per second in all")
    parser.add_argument("--match-batch", type=int, default=20, help="queries per Match call (default 20)")
    parser.add_argument("--dir", type=Path, help="where the nodes keep their data (default: a temp dir)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="hashnode-soak-") as scratch:
        directory = args.dir or Path(scratch)
        consortium = LocalConsortium(directory, anti_entropy_ms=1000)
        try:
            return run(consortium, args)
        finally:
            consortium.close()


def run(consortium: LocalConsortium, args: argparse.Namespace) -> int:
    consortium.start()
    workload = Workload(consortium, args)
    history: dict[str, list[dict[str, int]]] = {name: [] for name in consortium.nodes}
    print(
        f"soak: {args.minutes} min ({args.warmup_minutes} warm-up), 3 nodes, submit {args.submit_rate}/s x "
        f"{args.batch} records per node (window {args.window} batches), match {args.match_rate}/s x "
        f"{args.match_batch} queries",
        flush=True,
    )
    started = time.monotonic()
    workload.start()
    next_sample = started + args.interval
    while time.monotonic() - started < args.minutes * 60:
        time.sleep(max(0.0, min(next_sample, started + args.minutes * 60) - time.monotonic()))
        if time.monotonic() >= next_sample:
            sample(workload, time.monotonic() - started, args.interval, history)
            next_sample += args.interval
    workload.join()
    converged = True
    try:
        consortium.wait_converged(timeout=120)
    except AssertionError:
        converged = False
    sample(workload, time.monotonic() - started, args.interval, history, load=False)
    return report(consortium, workload, history, args, converged)


def report(
    consortium: LocalConsortium,
    workload: Workload,
    history: dict[str, list[dict[str, int]]],
    args: argparse.Namespace,
    converged: bool,
) -> int:
    minutes = args.minutes
    errors = sum(m.errors for m in (workload.submits, workload.retracts, workload.matches))
    log_errors = sum(" ERROR " in line for node in consortium.nodes.values() for line in node.log_text().splitlines())
    print(
        f"\nsoak summary ({minutes} min; memory growth: the first three samples from t = "
        f"{args.warmup_minutes * 60:.0f} s to the last three under load):"
    )
    for meter in (workload.submits, workload.retracts, workload.matches):
        print(
            f"  {meter.name:8} {len(meter.total):7d} calls  {len(meter.total) / (minutes * 60):6.1f}/s  "
            f"p99 {p99_ms(meter.total):6.1f} ms  errors {meter.errors}"
        )
        for kind, count in meter.error_kinds.most_common(5):
            print(f"           {count} x {kind}")
    print(f"  errors {errors}; ERROR lines in node logs {log_errors}; converged at the end: {converged}")
    worst = 0.0
    for name, points in history.items():
        rss0, rss1, rss_pct = growth(points, "rss", args.warmup_minutes * 60)
        anon0, anon1, anon_pct = growth(points, "anon", args.warmup_minutes * 60)
        file0, file1, _ = growth(points, "file", args.warmup_minutes * 60)
        disk0, disk1, _ = growth(points, "disk", args.warmup_minutes * 60)
        worst = max(worst, anon_pct)
        print(
            f"  node {name}: rss {rss0 / MB:.1f} -> {rss1 / MB:.1f} MB ({rss_pct:+.1f}%), "
            f"anon {anon0 / MB:.1f} -> {anon1 / MB:.1f} MB ({anon_pct:+.1f}%), "
            f"file-backed {file0 / MB:.1f} -> {file1 / MB:.1f} MB (store on disk {disk0 / MB:.1f} -> "
            f"{disk1 / MB:.1f} MB); entries {points[-1]['entries']}"
        )
    ok = errors == 0 and converged and worst < 5.0
    print(f"  goal (0 errors, converged, anonymous memory growth < 5%): {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
