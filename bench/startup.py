#!/usr/bin/env python3
"""Start-up benchmark: how soon a node holding millions of PDQ hashes serves, and how much memory it holds.

    python bench/startup.py            # 10M records: builds the data dir once (minutes), then reuses it
    python bench/startup.py --records 1000000 --work /tmp/hn-startup-1m

Builds (once, cached under `--work`; bench/example_node.py) the data dir of the example node platform-a (TLS,
the example keys) holding N signed PDQ records, submitted through the ledger in entries of 10,000. Then starts
`hashnode serve` as a fresh child process, several times:

* with the saved index snapshot (written when the previous run shut down): the normal start;
* with the snapshot deleted: the index is rebuilt from the store (the baseline, and what a node without a
  usable snapshot does).

For each start: seconds from spawning the process to its serving line; the child's VmRSS/VmHWM (and the
anonymous and file-backed parts of the RSS) at that moment and after 1,000 single-hash Match calls over TLS
with the client token (half near-duplicates of stored hashes, half random), with those calls' latency; and the
seconds SIGTERM takes (the snapshot is saved then). Prints the ratio rebuild / snapshot.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from example_node import (
    Contents,
    data_dir,
    ensure_built,
    hashes,
    load_average,
    memory_mib,
    near_duplicate,
    platform_channel,
    write_config,
)

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Start:
    label: str
    serving_s: float
    at_start: dict[str, int]
    after_queries: dict[str, int]
    p50_ms: float
    p99_ms: float
    matched: int
    stop_s: float


def serve_once(label: str, config: Path, work: Path, contents: Contents, queries: int) -> Start:
    """Spawns `hashnode serve`, waits for its serving line, queries it, stops it (SIGTERM)."""
    from node.server.server import SERVING_LINE

    log_path = work / f"serve-{label.split()[0]}.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log_path.open("w") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "node.cli.main", "serve", "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=env,
        )
    assert process.stdout is not None
    address = next((m["address"] for line in process.stdout if (m := SERVING_LINE.match(line.strip()))), None)
    serving_s = time.perf_counter() - started
    if address is None:
        process.wait()
        raise SystemExit(f"{label}: the node did not start:\n{log_path.read_text()[-3000:]}")
    try:
        at_start = memory_mib(process.pid)
        latencies, matched = run_queries(address, contents, queries)
        after = memory_mib(process.pid)
    except BaseException:
        process.kill()  # leave no node behind holding the data dir
        process.wait()
        raise
    stopping = time.perf_counter()
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=600)
    stop_s = time.perf_counter() - stopping
    process.stdout.close()
    p50, p99 = np.percentile(latencies, [50, 99])
    return Start(label, serving_s, at_start, after, float(p50), float(p99), matched, stop_s)


def query_hashes(contents: Contents, queries: int) -> Iterator[bytes]:
    """Half near-duplicates (0..31 bits from a stored hash), half random hashes."""
    rng = np.random.default_rng([contents.seed, 99])
    for i in range(queries):
        if i % 2:
            yield rng.integers(0, 256, size=32, dtype=np.uint8).tobytes()
        else:
            stored = hashes("pdq", int(rng.integers(contents.pdq)), 1, contents.seed)[0]
            yield near_duplicate(stored, int(rng.integers(0, 32)), rng)


def run_queries(address: str, contents: Contents, queries: int) -> tuple[list[float], int]:
    """Single-hash Match calls as a platform client (TLS, token): (latencies in ms, queries that matched)."""
    from node.api.gen.hashnode.v1 import client_pb2, client_pb2_grpc

    latencies, matched = [], 0
    with platform_channel(address) as channel:
        stub = client_pb2_grpc.HashNodeStub(channel)
        for value in query_hashes(contents, queries):
            request = client_pb2.MatchRequest(queries=[client_pb2.HashQuery(signal_type="pdq", value=value.hex())])
            start = time.perf_counter()
            response = stub.Match(request, timeout=30)
            latencies.append((time.perf_counter() - start) * 1000)
            matched += bool(response.results[0].matches)
    return latencies, matched


def phases(config: Path) -> dict[str, float]:
    """In this (fresh) process: seconds to import the server, open the node, and start its listeners."""
    started = time.perf_counter()
    from node.runtime.config import load_config
    from node.runtime.runtime import open_node
    from node.server.server import create_servers

    imported = time.perf_counter()
    runtime = open_node(load_config(config))
    opened = time.perf_counter()
    listeners = create_servers(runtime)
    listeners.start()
    serving = time.perf_counter()
    listeners.stop(None)
    runtime.close()
    return {
        "import": imported - started,
        "open_node": opened - imported,
        "servers": serving - opened,
        "close": time.perf_counter() - serving,
    }


def phases_in_child(config: Path) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, __file__, "--phases-of", str(config)], check=True, capture_output=True, text=True
    ).stdout
    return dict(json.loads(output.splitlines()[-1]))


# --- report -------------------------------------------------------------------------------------------------


def print_starts(starts: list[Start], contents: Contents) -> None:
    print(f"\nstart-up of `hashnode serve` with {contents.describe()} (load average {load_average()})")
    print(
        f"{'start':<13}{'serving s':>10}{'RSS MiB':>9}{'HWM MiB':>9}{'anon':>7}{'file':>7}"
        f"{'RSS 1k q':>9}{'HWM 1k q':>9}{'anon':>7}{'file':>7}{'q p50 ms':>9}{'q p99 ms':>9}{'stop s':>8}"
    )
    for s in starts:
        a, q = s.at_start, s.after_queries
        print(
            f"{s.label:<13}{s.serving_s:>10.2f}{a['VmRSS']:>9}{a['VmHWM']:>9}{a['RssAnon']:>7}{a['RssFile']:>7}"
            f"{q['VmRSS']:>9}{q['VmHWM']:>9}{q['RssAnon']:>7}{q['RssFile']:>7}{s.p50_ms:>9.2f}{s.p99_ms:>9.2f}"
            f"{s.stop_s:>8.2f}"
        )


def summarise(starts: list[Start]) -> None:
    snap = [s for s in starts if s.label.startswith("snapshot")]
    rebuild = [s for s in starts if s.label.startswith("rebuild")]
    best_snap, best_rebuild = min(s.serving_s for s in snap), min(s.serving_s for s in rebuild)
    print(
        f"\nserving after {best_snap:.2f} s with the snapshot (best of {len(snap)}; goal <= 15 s), "
        f"{best_rebuild:.2f} s rebuilding the index (baseline): {best_rebuild / best_snap:.1f}x"
    )
    print(
        f"peak RSS (VmHWM) after 1,000 queries: {max(s.after_queries['VmHWM'] for s in snap):,} MiB with the "
        f"snapshot (goal <= 2,048 MiB), {max(s.after_queries['VmHWM'] for s in rebuild):,} MiB rebuilding"
    )
    print("queries matched (of 500 near-duplicates): " + ", ".join(f"{s.label} {s.matched}" for s in starts))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=10_000_000, help="PDQ records (default 10,000,000)")
    parser.add_argument("--work", type=Path, help="cached data dir (default /tmp/hashnode-bench-startup-<records>)")
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=2, help="starts of each kind (default 2)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--phases-of", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phases_of:
        print(json.dumps(phases(args.phases_of)))
        return 0
    work = (args.work or Path(f"/tmp/hashnode-bench-startup-{args.records}")).resolve()
    contents = Contents(args.records, seed=args.seed)
    ensure_built(work, contents)
    config = write_config(work)
    index_dir = data_dir(work) / "index"
    starts = []
    for run in range(1, args.runs + 1):
        # A rebuild first: its shutdown saves the snapshot the next start loads.
        shutil.rmtree(index_dir, ignore_errors=True)
        starts.append(serve_once(f"rebuild #{run}", config, work, contents, args.queries))
        if not (index_dir / "hashnode-snapshot.json").exists():
            raise SystemExit(f"no index snapshot was saved at shutdown under {index_dir}")
        starts.append(serve_once(f"snapshot #{run}", config, work, contents, args.queries))
    print_starts(starts, contents)
    summarise(starts)
    split = phases_in_child(config)
    print("in a fresh process, with the snapshot: " + ", ".join(f"{k} {v:.2f} s" for k, v in split.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
