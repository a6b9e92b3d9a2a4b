#!/usr/bin/env python3
"""Matching over gRPC: what a platform's systems get from a node on this machine, against the index and the
ledger in-process, at realistic match rates.

    python bench/grpc_match.py                           # 1M clustered PDQ + 100k MD5 + 100k SHA-256 (data dir cached)
    python bench/grpc_match.py --collection uniform      # uniform PDQ hashes, half the queries near-duplicates
    python bench/grpc_match.py --compare /tmp/old        # also serve another checkout, TLS, in the same run
    PYTHONPATH=/tmp/old python bench/grpc_match.py --serve /tmp/old   # an older version whole

The node is the example platform-a (bench/example_node.py: data dir built once under `--work`), started as
`hashnode serve` in a child process; this process is the platform client, calling over loopback with the
client set-up of docs/access-control.md: TLS trusting the node's certificate and the client bearer token. With
`--transports tls,insecure` the node is run again in insecure loopback mode (plaintext), which shows what TLS
costs.

Workloads: on the clustered collection (bench/datasets.py: families of near-duplicates, low-texture hashes, the
real haystack), the query mix of re-uploads of stored items with edits and fresh uploads, one workload per
`--reupload` fraction (0.3 and 0.67: ~4 and ~9 matches per query); on a uniform collection, half the queries
near-duplicates of stored hashes (0..31 bits away), half random. Exact MD5 and SHA-256 queries half stored,
half not. Requests are built before the clock starts. Measured per workload:

* batched Match: `--batches` requests of 1,000 PDQ hashes, one caller; the same with `include_records` (each
  hit's full record); `--callers` concurrent callers;
* MatchStream: one stream of `--batches` 1,000-hash requests, and one of `--singles` one-hash requests;
* unary Match of one PDQ hash: latency p50/p99 over `--singles` calls;
* and once: exact MD5/SHA-256 unary one-hash Match latency, in-process the ledger's lookup and the store's.

Baselines: the same queries through `Ledger.match` in this process (the node opened as `serve` opens it), and
`PdqIndex.query` alone, timed again just before each served run on the same batches, so that the CPU ratio
`node cpu / index cpu` compares the node with the bare index under the same load. CPU per 1,000 lookups is
the node process's (/proc/<pid>/stat) for gRPC, this process's in-process; on a shared machine CPU is the
steadier measure, wall-clock rates follow the load. The match rate of each workload is printed.
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
    clustered_collection,
    ensure_built,
    hashes,
    load_average,
    memory_mib,
    near_duplicate,
    platform_channel,
    write_config,
)
from grpc_health.v1 import health_pb2, health_pb2_grpc

from node.api.gen.hashnode.v1 import client_pb2, client_pb2_grpc
from node.index.pdq import PdqIndex
from node.ledger.ledger import Ledger, Query

ROOT = Path(__file__).resolve().parents[1]
BATCH = 1_000
THRESHOLD = 31  # the node's default (platform-a's config sets none)
EXACT_KINDS = ("md5", "sha256")


# --- workload -----------------------------------------------------------------------------------------------


@dataclass
class Workload:
    name: str
    batches: list[list[Query]]  # of BATCH PDQ queries
    singles: list[Query]  # PDQ
    exact: dict[str, list[Query]]  # md5 / sha256: half stored, half not

    @classmethod
    def make(cls, contents: Contents, batches: int, singles: int, exact: int, reupload: float) -> Workload:
        """Uniform collections: half near-duplicates of stored hashes (0..31 bits), half random. Clustered: the
        query mix of bench/datasets.py, `reupload` of them edited re-uploads of stored items."""
        rng = np.random.default_rng([contents.seed, 7])
        count = batches * BATCH + singles
        if contents.collection == "clustered":
            import datasets

            collection = clustered_collection(contents.pdq, contents.seed)
            mix = datasets.QueryMix(reupload=reupload)
            asked = datasets.queries(collection, count, seed=contents.seed + 1, mix=mix)
            pdq = [Query("pdq", value.tobytes()) for value in asked.hashes]
            name = f"clustered, {reupload:.0%} re-uploads"
        else:
            pdq = [Query("pdq", value) for value in _pdq_values(contents, rng, count)]
            name = "uniform, half near-duplicates"
        return cls(
            name,
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


# Versions before lean match hits have no `include_records`: their matches always carry the records (--serve).
LEAN_HITS = "include_records" in client_pb2.MatchRequest.DESCRIPTOR.fields_by_name


def request(queries: Sequence[Query], *, include_records: bool = False) -> client_pb2.MatchRequest:
    asked = client_pb2.MatchRequest(
        queries=[client_pb2.HashQuery(signal_type=q.signal_type, value=q.value.hex()) for q in queries]
    )
    if include_records:
        asked.include_records = True
    return asked


# --- figures ------------------------------------------------------------------------------------------------


@dataclass
class Figure:
    """One measurement: a throughput (lookups/s) or a latency distribution (ms)."""

    per_s: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    cpu_ms_per_1k: float | None = None  # CPU per 1,000 lookups: the node's (gRPC), this process's (in-process)
    hits: int = 0
    lookups: int = 0

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
    return Figure(
        per_s=lookups / elapsed, cpu_ms_per_1k=(_cpu_s(pid) - cpu) / lookups * 1e6, hits=hits, lookups=lookups
    )


def _cpu_s(pid: int | None) -> float:
    if pid is None:
        return time.process_time()
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- in-process baseline ------------------------------------------------------------------------------------


def in_process(config: Path, workloads: Sequence[Workload]) -> tuple[dict[str, dict[str, Figure]], PdqIndex]:
    """Per workload: the index alone, `Ledger.match` batched and unary; the exact lookups under the first. Also
    the loaded index, kept to time the index alone again beside each served run."""
    from node.runtime.config import load_config
    from node.runtime.runtime import open_node

    runtime = open_node(load_config(config))
    ledger = runtime.ledger
    figures: dict[str, dict[str, Figure]] = {}
    try:
        for work in workloads:
            ledger.match(work.batches[0])  # warm: pages of the memory-mapped index and of LMDB
            lookups = _count(work.batches)
            figures[work.name] = {
                "index": index_alone(ledger.index, work),
                "batched": throughput(lambda w=work: sum(_hits(ledger.match(b)) for b in w.batches), lookups),
                "unary": latency([lambda q=q: _hits(ledger.match([q])) for q in work.singles]),
            }
            ledger.flush_match_log()  # as the node's maintenance loop does, outside the timed runs
        for kind, queries in workloads[0].exact.items():
            exact = figures[workloads[0].name]
            exact[f"{kind} ledger"] = latency([lambda q=q: _hits(ledger.match([q])) for q in queries])
            exact[f"{kind} store"] = latency([lambda q=q: _store_exact(ledger, q) for q in queries])
    finally:
        runtime.close()
    return figures, ledger.index


def index_alone(index: PdqIndex, work: Workload) -> Figure:
    """The index alone on the workload's batches, in this process (what the node's CPU is compared with)."""
    return throughput(lambda: sum(_index_hits(index, b) for b in work.batches), _count(work.batches))


def _count(batches: Sequence[Sequence[Query]]) -> int:
    return sum(len(b) for b in batches)


def _hits(results: Sequence[Sequence[object]]) -> int:
    return sum(len(r) for r in results)


def _index_hits(index: PdqIndex, batch: Sequence[Query]) -> int:
    values = np.frombuffer(b"".join(q.value for q in batch), dtype=np.uint8).reshape(-1, 32)
    return len(index.query(values, THRESHOLD)[0])


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
    def start(cls, config: Path, log: Path, tree: Path) -> Served:
        """`hashnode serve` of the code in `tree` (this repository, or another checkout to compare with)."""
        from node.server.server import SERVING_LINE

        env = {**os.environ, "PYTHONPATH": str(tree)}
        with log.open("w") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-m", "node.cli.main", "serve", "--config", str(config)],
                stdout=subprocess.PIPE,
                stderr=log_file,
                text=True,
                env=env,
                cwd=tree,
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


def over_grpc(
    served: Served, workloads: Sequence[Workload], callers: int, index: PdqIndex, *, tls: bool
) -> dict[str, dict[str, Figure]]:
    pid = served.process.pid
    figures: dict[str, dict[str, Figure]] = {}
    with platform_channel(served.address, tls=tls) as channel:
        stub = client_pb2_grpc.HashNodeStub(channel)
        for work in workloads:
            batches = [request(b) for b in work.batches]
            singles = [request([q]) for q in work.singles]
            lookups = _count(work.batches)
            stub.Match(batches[0], timeout=60)  # warm the connection and the node's pages

            def one_by_one(batches: list[client_pb2.MatchRequest] = batches) -> int:
                return sum(_response_hits(stub.Match(r, timeout=60)) for r in batches)

            full = [request(b, include_records=True) for b in work.batches] if LEAN_HITS else []
            measured = {
                "index adjacent": index_alone(index, work),  # just before, on the same batches: same load
                "batched": throughput(one_by_one, lookups, pid),
            }
            if full:
                measured["batched records"] = throughput(lambda f=full: one_by_one(f), lookups, pid)  # type: ignore[misc]
            measured["batched concurrent"] = throughput(
                lambda b=batches: _concurrently(stub, b, callers), lookups, pid  # type: ignore[misc]
            )
            measured["unary"] = latency([lambda r=r: _response_hits(stub.Match(r, timeout=30)) for r in singles])
            measured["stream singles"] = throughput(lambda s=singles: _streamed(stub, s), len(singles), pid)
            measured["stream batches"] = throughput(lambda b=batches: _streamed(stub, b), lookups, pid)
            figures[work.name] = measured
        for kind, queries in workloads[0].exact.items():
            requests = [request([q]) for q in queries]
            figures[workloads[0].name][f"{kind} grpc"] = latency(
                [lambda r=r: _response_hits(stub.Match(r, timeout=30)) for r in requests]
            )
        # gRPC's own round trip on the same channel (token, TLS, interceptors): the floor of a one-hash call.
        health = health_pb2_grpc.HealthStub(channel)
        check = health_pb2.HealthCheckRequest()
        figures[workloads[0].name]["health grpc"] = latency(
            [lambda: int(health.Check(check, timeout=30).status) for _ in workloads[0].exact["md5"]]
        )
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
    ("PDQ batched Match, 1,000 hashes/call (lookups/s)", "batched"),
    ("  same, include_records", "batched records"),
    ("  same, concurrent callers", "batched concurrent"),
    ("MatchStream, 1,000-hash requests (lookups/s)", "stream batches"),
    ("MatchStream, 1-hash requests (lookups/s)", "stream singles"),
    ("PDQ unary Match, 1 hash (p50 / p99)", "unary"),
)
EXACT_ROWS = (
    ("MD5 exact, 1 hash (p50 / p99)", "md5"),
    ("SHA-256 exact, 1 hash (p50 / p99)", "sha256"),
    ("health check, same channel (p50 / p99)", "health"),
)


@dataclass
class Report:
    contents: Contents
    baseline: dict[str, dict[str, Figure]]  # workload -> figures in-process
    served: dict[str, dict[str, dict[str, Figure]]] = field(default_factory=dict)  # column -> workload -> figures
    memory: dict[str, dict[str, int]] = field(default_factory=dict)
    loads: dict[str, str] = field(default_factory=dict)  # column -> load average after its run

    def print(self, callers: int) -> None:
        print(f"\nmatching {self.contents.describe()} (load average {load_average()}; {callers} concurrent callers)")
        columns = list(self.served)
        for column in columns:
            print(f"  {column}: load average after its run {self.loads[column]}")
        for workload, base in self.baseline.items():
            index = base["index"]
            rate = base["batched"].hits / base["batched"].lookups
            print(f"\n{workload}: {rate:.2f} matches per query (in-process Ledger.match, threshold 31)")
            header = ["", "in-process", *columns, "node cpu / index cpu"]
            rows = [header]
            for label, key in ROWS:
                served = [self.served[c].get(workload, {}) for c in columns]
                figures = [f.get(key) for f in served]
                cells = [label, base[key].cell() if key in base else "-", *[f.cell() if f else "-" for f in figures]]
                ratios = [_cpu_ratio(f.get("index adjacent", index), f.get(key)) for f in served]
                cells.append(" ".join(ratios) if key in ("batched", "batched records") else "")
                rows.append(cells)
                if key == "batched":
                    adjacent = [f.get("index adjacent") for f in served]
                    beside = [a.cell() if a else "" for a in adjacent]
                    rows.append(["  index alone (beside each run)", index.cell(), *beside, ""])
            _table(rows)
        first = next(iter(self.baseline))
        rows = [["", "in-process", *columns, f"{columns[0]} / in-process"]]
        for label, key in EXACT_ROWS:
            base = self.baseline[first].get(f"{key} ledger")
            figures = [self.served[c].get(first, {}).get(f"{key} grpc") for c in columns]
            if base is None and not any(figures):
                continue
            ratio = f"{figures[0].p50_ms / base.p50_ms:.1f}x p50" if figures[0] and base and base.p50_ms else "-"
            rows.append([label, base.cell() if base else "-", *[f.cell() if f else "-" for f in figures], ratio])
            if f"{key} store" in self.baseline[first]:
                store = self.baseline[first][f"{key} store"].cell()
                rows.append(["  store lookup alone", store, *["" for _ in columns], ""])
        if len(rows) > 1:
            print()
            _table(rows)
        for column, mem in self.memory.items():
            print(
                f"node RSS after the {column} run: {mem['VmRSS']:,} MiB (peak {mem['VmHWM']:,} MiB; "
                f"anonymous {mem['RssAnon']:,}, file-backed {mem['RssFile']:,}: index maps and LMDB pages)"
            )


def _table(rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        cells = (c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        print("  ".join(cells))


def _cpu_ratio(index: Figure, served: Figure | None) -> str:
    if served is None or not served.cpu_ms_per_1k or not index.cpu_ms_per_1k:
        return "-"
    return f"{served.cpu_ms_per_1k / index.cpu_ms_per_1k:.2f}x"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pdq", type=int, default=1_000_000)
    parser.add_argument("--md5", type=int, default=100_000)
    parser.add_argument("--sha256", type=int, default=100_000)
    parser.add_argument("--collection", choices=("uniform", "clustered"), default="clustered")
    parser.add_argument(
        "--reupload",
        default="0.3,0.67",
        help="clustered: re-upload fractions, one workload each (default 0.3,0.67: ~4 and ~9 matches per query)",
    )
    parser.add_argument("--work", type=Path, help="cached data dir (default /tmp/hashnode-bench-grpc-<pdq>)")
    parser.add_argument("--batches", type=int, default=20, help="1,000-hash requests (default 20)")
    parser.add_argument("--singles", type=int, default=2_000, help="one-hash PDQ requests (default 2,000)")
    parser.add_argument("--exact", type=int, default=1_000, help="one-hash MD5 and SHA-256 requests each")
    parser.add_argument("--callers", type=int, default=2, help="concurrent callers (default 2)")
    parser.add_argument("--transports", default="tls", help="tls (default), insecure, or tls,insecure")
    parser.add_argument(
        "--compare",
        type=Path,
        action="append",
        default=[],
        metavar="TREE",
        help="also serve the node from this checkout (e.g. the main branch's), TLS, for a before/after",
    )
    parser.add_argument(
        "--serve",
        type=Path,
        default=ROOT,
        metavar="TREE",
        help="serve the node from this checkout (default this one); run with PYTHONPATH=TREE to measure an older "
        "version whole (in-process baseline and index included)",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    contents = Contents(args.pdq, args.md5, args.sha256, args.seed, args.collection)
    suffix = "-clustered" if args.collection == "clustered" else ""
    work_dir = (args.work or Path(f"/tmp/hashnode-bench-grpc-{args.pdq}{suffix}")).resolve()
    ensure_built(work_dir, contents)
    config = write_config(work_dir)
    reuploads = [float(r) for r in args.reupload.split(",")] if args.collection == "clustered" else [0.5]
    workloads = [Workload.make(contents, args.batches, args.singles, args.exact, r) for r in reuploads]
    baseline, index = in_process(config, workloads)
    report = Report(contents, baseline)
    runs = [(f"gRPC {t}", args.serve.resolve(), t) for t in args.transports.split(",")]
    runs += [(f"gRPC tls, {tree}", tree.resolve(), "tls") for tree in args.compare]
    for column, tree, transport in runs:
        served = Served.start(
            config if transport == "tls" else insecure_config(config), work_dir / "serve.log", tree
        )
        try:
            report.served[column] = over_grpc(served, workloads, args.callers, index, tls=transport == "tls")
            report.memory[column] = memory_mib(served.process.pid)
        finally:
            served.stop()
        report.loads[column] = load_average()
    report.print(args.callers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
