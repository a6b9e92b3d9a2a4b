#!/usr/bin/env python3
"""Matching over gRPC: what a platform's systems get from a node on this machine, against the ledger in-process.

    python bench/grpc_match.py                      # 1M PDQ + 100k MD5 + 100k SHA-256 records (data dir cached)
    python bench/grpc_match.py --transports tls     # TLS only (the default measures TLS and plaintext)

The node is the example platform-a (bench/example_node.py: data dir built once under `--work`), started as
`hashnode serve` in a child process; this process is the platform client, calling over loopback with the
client set-up of docs/access-control.md: TLS trusting the node's certificate and the client bearer token. By
default the node is then run again in insecure loopback mode (plaintext), which shows what TLS costs.

Workload: PDQ queries half near-duplicates of stored hashes (0..31 bits away), half random; exact MD5 and
SHA-256 queries half stored, half not. Requests are built before the clock starts. Measured:

* batched Match: `--batches` requests of 1,000 PDQ hashes, one caller, then `--callers` concurrent callers;
* unary Match of one PDQ hash: latency p50/p99 over `--singles` calls;
* MatchStream: one stream of `--singles` one-hash requests, and one of `--batches` 1,000-hash requests;
* exact MD5/SHA-256: unary one-hash Match latency, and in-process the ledger's lookup and the store's.

Baseline in the same run: the same queries through `Ledger.match` in this process (the node opened as `serve`
opens it), and `PdqIndex.query` alone, so the table shows what the index, the ledger and gRPC each cost. The
CPU per 1,000 lookups is shown beside each throughput: the node process's (/proc/<pid>/stat) for gRPC, this
process's in-process; on a shared machine the CPU ratio is the steadier measure of what gRPC adds.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from example_node import (
    Contents,
    ensure_built,
    hashes,
    load_average,
    memory_mib,
    near_duplicate,
    platform_channel,
    write_config,
)

from node.api.gen.hashnode.v1 import client_pb2, client_pb2_grpc
from node.ledger.ledger import Ledger, Query

ROOT = Path(__file__).resolve().parents[1]
BATCH = 1_000
EXACT_KINDS = ("md5", "sha256")


# --- workload -----------------------------------------------------------------------------------------------


@dataclass
class Workload:
    batches: list[list[Query]]  # of BATCH PDQ queries
    singles: list[Query]  # PDQ
    exact: dict[str, list[Query]]  # md5 / sha256: half stored, half not

    @classmethod
    def make(cls, contents: Contents, batches: int, singles: int, exact: int) -> Workload:
        rng = np.random.default_rng([contents.seed, 7])
        pdq = [Query("pdq", value) for value in _pdq_values(contents, rng, batches * BATCH + singles)]
        return cls(
            [pdq[i * BATCH : (i + 1) * BATCH] for i in range(batches)],
            pdq[batches * BATCH :],
            {kind: _exact_queries(kind, getattr(contents, kind), exact, contents.seed, rng) for kind in EXACT_KINDS},
        )


def _pdq_values(contents: Contents, rng: np.random.Generator, count: int) -> Iterator[bytes]:
    for i in range(count):
        if i % 2:
            yield rng.integers(0, 256, size=32, dtype=np.uint8).tobytes()
        else:
            stored = hashes("pdq", int(rng.integers(contents.pdq)), 1, contents.seed)[0]
            yield near_duplicate(stored, int(rng.integers(0, 32)), rng)


def _exact_queries(kind: str, stored: int, count: int, seed: int, rng: np.random.Generator) -> list[Query]:
    if not stored:
        return []
    size = 16 if kind == "md5" else 32
    return [
        Query(kind, hashes(kind, int(rng.integers(stored)), 1, seed)[0].tobytes())
        if i % 2 == 0
        else Query(kind, rng.integers(0, 256, size=size, dtype=np.uint8).tobytes())
        for i in range(count)
    ]


def request(queries: Sequence[Query]) -> client_pb2.MatchRequest:
    return client_pb2.MatchRequest(
        queries=[client_pb2.HashQuery(signal_type=q.signal_type, value=q.value.hex()) for q in queries]
    )


# --- figures ------------------------------------------------------------------------------------------------


@dataclass
class Figure:
    """One measurement: a throughput (lookups/s) or a latency distribution (ms)."""

    per_s: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    cpu_ms_per_1k: float | None = None  # CPU per 1,000 lookups: the node's (gRPC), this process's (in-process)
    hits: int = 0

    def cell(self) -> str:
        if self.per_s is not None:
            return f"{self.per_s:,.0f}/s ({self.cpu_ms_per_1k:.0f} ms cpu/1k)"
        assert self.p50_ms is not None and self.p99_ms is not None
        return f"{_ms(self.p50_ms)} / {_ms(self.p99_ms)}"


def _ms(value: float) -> str:
    return f"{value * 1000:.0f} us" if value < 0.1 else f"{value:.2f} ms"


def latency(calls: Sequence[Callable[[], int]]) -> Figure:
    times, hits = [], 0
    for call in calls:
        start = time.perf_counter()
        hits += call()
        times.append((time.perf_counter() - start) * 1000)
    p50, p99 = np.percentile(times, [50, 99])
    return Figure(p50_ms=float(p50), p99_ms=float(p99), hits=hits)


def throughput(run: Callable[[], int], lookups: int, pid: int | None = None) -> Figure:
    """Lookups per second of `run`, and the CPU it took per 1,000 lookups: of the node process `pid`, or of
    this process for in-process runs (less sensitive than wall time to other work on the machine)."""
    cpu = _cpu_s(pid)
    start = time.perf_counter()
    hits = run()
    elapsed = time.perf_counter() - start
    return Figure(per_s=lookups / elapsed, cpu_ms_per_1k=(_cpu_s(pid) - cpu) / lookups * 1e6, hits=hits)


def _cpu_s(pid: int | None) -> float:
    if pid is None:
        return time.process_time()
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- in-process baseline ------------------------------------------------------------------------------------


def in_process(config: Path, work: Workload) -> dict[str, Figure]:
    from node.runtime.config import load_config
    from node.runtime.runtime import open_node

    runtime = open_node(load_config(config))
    ledger = runtime.ledger
    try:
        ledger.match(work.batches[0])  # warm: pages of the memory-mapped index and of LMDB
        figures = {
            "index": throughput(lambda: sum(_index_hits(ledger, b) for b in work.batches), _count(work.batches)),
            "batched": throughput(lambda: sum(_hits(ledger.match(b)) for b in work.batches), _count(work.batches)),
            "unary": latency([lambda q=q: _hits(ledger.match([q])) for q in work.singles]),
        }
        for kind, queries in work.exact.items():
            figures[f"{kind} ledger"] = latency([lambda q=q: _hits(ledger.match([q])) for q in queries])
            figures[f"{kind} store"] = latency([lambda q=q: _store_exact(ledger, q) for q in queries])
    finally:
        runtime.close()
    return figures


def _count(batches: Sequence[Sequence[Query]]) -> int:
    return sum(len(b) for b in batches)


def _hits(results: Sequence[Sequence[object]]) -> int:
    return sum(len(r) for r in results)


def _index_hits(ledger: Ledger, batch: Sequence[Query]) -> int:
    values = np.frombuffer(b"".join(q.value for q in batch), dtype=np.uint8).reshape(-1, 32)
    return len(ledger.index.query(values, ledger.settings.pdq_threshold)[0])


def _store_exact(ledger: Ledger, query: Query) -> int:
    with ledger.store.read() as txn:
        return len(ledger.store.exact(txn, query.signal_type, query.value))


# --- over gRPC ----------------------------------------------------------------------------------------------


@dataclass
class Served:
    process: subprocess.Popen[str]
    address: str
    log: Path

    @classmethod
    def start(cls, config: Path, log: Path) -> Served:
        from node.server.server import SERVING_LINE

        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with log.open("w") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-m", "node.cli.main", "serve", "--config", str(config)],
                stdout=subprocess.PIPE,
                stderr=log_file,
                text=True,
                env=env,
            )
        assert process.stdout is not None
        for line in process.stdout:
            found = SERVING_LINE.match(line.strip())
            if found:
                return cls(process, found["address"], log)
        process.wait()
        raise SystemExit(f"the node did not start:\n{log.read_text()[-3000:]}")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=300)
        if self.process.stdout is not None:
            self.process.stdout.close()


def over_grpc(served: Served, work: Workload, callers: int, *, tls: bool) -> dict[str, Figure]:
    batches = [request(b) for b in work.batches]
    singles = [request([q]) for q in work.singles]
    pid, lookups = served.process.pid, _count(work.batches)
    with platform_channel(served.address, tls=tls) as channel:
        stub = client_pb2_grpc.HashNodeStub(channel)
        stub.Match(batches[0], timeout=60)  # warm the connection and the node's pages

        def one_by_one() -> int:
            return sum(_response_hits(stub.Match(r, timeout=60)) for r in batches)

        figures = {
            "batched": throughput(one_by_one, lookups, pid),
            "batched concurrent": throughput(lambda: _concurrently(stub, batches, callers), lookups, pid),
            "unary": latency([lambda r=r: _response_hits(stub.Match(r, timeout=30)) for r in singles]),
            "stream singles": throughput(lambda: _streamed(stub, singles), len(singles), pid),
            "stream batches": throughput(lambda: _streamed(stub, batches), lookups, pid),
        }
        for kind, queries in work.exact.items():
            requests = [request([q]) for q in queries]
            figures[f"{kind} grpc"] = latency([lambda r=r: _response_hits(stub.Match(r, timeout=30)) for r in requests])
    return figures


def _response_hits(response: client_pb2.MatchResponse) -> int:
    return sum(len(result.matches) for result in response.results)


def _streamed(stub: client_pb2_grpc.HashNodeStub, requests: Sequence[client_pb2.MatchRequest]) -> int:
    return sum(_response_hits(r) for r in stub.MatchStream(iter(requests), timeout=600))


def _concurrently(stub: client_pb2_grpc.HashNodeStub, requests: Sequence[client_pb2.MatchRequest], callers: int) -> int:
    hits = [0] * callers

    def call(caller: int) -> None:
        for r in requests[caller::callers]:
            hits[caller] += _response_hits(stub.Match(r, timeout=60))

    threads = [threading.Thread(target=call, args=(i,)) for i in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(hits)


def insecure_config(config: Path) -> Path:
    """The same node in insecure (plaintext loopback) mode: no TLS; the client token is still presented."""
    text = config.read_text().replace("[node]\n", "[node]\ninsecure = true\n", 1)
    path = config.with_name(config.stem + "-insecure.toml")
    path.write_text(text)
    return path


# --- report -------------------------------------------------------------------------------------------------

ROWS = (
    ("PDQ batched Match, 1,000 hashes/call (lookups/s)", "batched", "index"),
    ("  same, concurrent callers", "batched concurrent", None),
    ("MatchStream, 1,000-hash requests (lookups/s)", "stream batches", None),
    ("MatchStream, 1-hash requests (lookups/s)", "stream singles", None),
    ("PDQ unary Match, 1 hash (p50 / p99)", "unary", None),
    ("MD5 exact, 1 hash (p50 / p99)", "md5", "md5 store"),
    ("SHA-256 exact, 1 hash (p50 / p99)", "sha256", "sha256 store"),
)


@dataclass
class Report:
    contents: Contents
    baseline: dict[str, Figure]
    served: dict[str, dict[str, Figure]] = field(default_factory=dict)
    memory: dict[str, dict[str, int]] = field(default_factory=dict)

    def print(self, callers: int) -> None:
        print(f"\nmatching {self.contents.describe()} (load average {load_average()}; {callers} concurrent callers)")
        transports = list(self.served)
        header = ["", "in-process", *[f"gRPC {t}" for t in transports], f"{transports[0]} / in-process"]
        rows = [header]
        for label, key, extra in ROWS:
            base = self.baseline.get(key) or self.baseline.get(f"{key} ledger")
            cells = [label, base.cell() if base else "-"]
            grpc_key = key if key not in ("md5", "sha256") else f"{key} grpc"
            figures = [self.served[t].get(grpc_key) for t in transports]
            cells += [f.cell() if f else "-" for f in figures]
            cells.append(_ratio(base, figures[0]))
            rows.append(cells)
            if extra and extra in self.baseline:
                what = "  index alone" if extra == "index" else "  store lookup alone"
                rows.append([what, self.baseline[extra].cell(), *["" for _ in transports], ""])
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        for r in rows:
            cells = (c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
            print("  ".join(cells))
        for transport, mem in self.memory.items():
            print(
                f"node RSS after the {transport} run: {mem['VmRSS']:,} MiB (peak {mem['VmHWM']:,} MiB; "
                f"anonymous {mem['RssAnon']:,}, file-backed {mem['RssFile']:,}: index maps and LMDB pages)"
            )
        hits = {k: f.hits for k, f in self.baseline.items()}
        print("hits (in-process): " + ", ".join(f"{k} {v:,}" for k, v in hits.items()))


def _ratio(base: Figure | None, served: Figure | None) -> str:
    if base is None or served is None:
        return "-"
    if base.per_s is not None and served.per_s is not None and base.cpu_ms_per_1k and served.cpu_ms_per_1k:
        return f"{served.per_s / base.per_s:.2f}x /s, {served.cpu_ms_per_1k / base.cpu_ms_per_1k:.2f}x cpu"
    if base.p50_ms and served.p50_ms is not None:
        return f"{served.p50_ms / base.p50_ms:.1f}x p50"
    return "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pdq", type=int, default=1_000_000)
    parser.add_argument("--md5", type=int, default=100_000)
    parser.add_argument("--sha256", type=int, default=100_000)
    parser.add_argument("--work", type=Path, help="cached data dir (default /tmp/hashnode-bench-grpc-<pdq>)")
    parser.add_argument("--batches", type=int, default=20, help="1,000-hash requests (default 20)")
    parser.add_argument("--singles", type=int, default=2_000, help="one-hash PDQ requests (default 2,000)")
    parser.add_argument("--exact", type=int, default=1_000, help="one-hash MD5 and SHA-256 requests each")
    parser.add_argument("--callers", type=int, default=2, help="concurrent callers (default 2)")
    parser.add_argument("--transports", default="tls,insecure", help="tls, insecure or both (default)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    contents = Contents(args.pdq, args.md5, args.sha256, args.seed)
    work_dir = (args.work or Path(f"/tmp/hashnode-bench-grpc-{args.pdq}")).resolve()
    ensure_built(work_dir, contents)
    config = write_config(work_dir)
    work = Workload.make(contents, args.batches, args.singles, args.exact)
    report = Report(contents, in_process(config, work))
    for transport in args.transports.split(","):
        served = Served.start(config if transport == "tls" else insecure_config(config), work_dir / "serve.log")
        try:
            report.served[transport] = over_grpc(served, work, args.callers, tls=transport == "tls")
            report.memory[transport] = memory_mib(served.process.pid)
        finally:
            served.stop()
    report.print(args.callers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
