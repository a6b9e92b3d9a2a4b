#!/usr/bin/env python3
"""Replication benchmark: bootstrap catch-up and propagation latency, over gRPC on 127.0.0.1.

    python bench/replication.py --records 1000000 --per-entry 1000 --nodes 5 --samples 200

1. Bootstrap: a source node holding `--records` hash records (in entries of `--per-entry`) serves them from a
   child process; a fresh node (this process) replicates everything with full verification (Merkle root,
   Ed25519 signature, receipt rules, record decoding) through the replicator's pull path. Prints the catch-up
   time and records/s, and checks the fresh node's state digest against the source's.
2. Propagation: `--nodes` nodes, each its own process, every node replicating from every other one. One
   contribution at a time is submitted (gRPC Submit) to a node in turn; each node reports when the entry was
   committed (and so matchable) there. Prints p50/p99/max of the delay from the author's commit to the commit
   on the last other node, and from the Submit call to that point.

Not a test: numbers depend on the machine. Every node runs the real Replica, Replicator and Peer service.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from concurrent import futures
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import grpc
import numpy as np

from node.api.gen.hashnode.v1 import client_pb2, client_pb2_grpc, peer_pb2_grpc, types_pb2
from node.core.entry import ZERO_ID, Entry, EntryKind, sign_entry
from node.core.keys import SigningKey
from node.core.records import HashRecord
from node.core.taxonomy import Taxonomy
from node.ledger.ledger import Ledger, LedgerSettings
from node.ledger.replica import Replica
from node.membership.members import Member, MemberKey, Membership
from node.network.replicator import PeerAddress, PeerState, ReplicationSettings, Replicator
from node.server import client_service
from node.server.client_service import HashNodeServicer
from node.server.peer_service import PeerServicer
from node.server.status import ErrorStatusInterceptor

CONSORTIUM = "bench"
LABELS = ("tvec.propaganda", "tvec.glorification", "tvec.graphic_violence")
MEMBERS = tuple(f"m{i}" for i in range(8))


def key(member: str) -> SigningKey:
    return SigningKey.from_seed(hashlib.sha256(b"hashnode bench " + member.encode()).digest())


def membership() -> Membership:
    return Membership.from_members(CONSORTIUM, [Member(m, m, (MemberKey(key(m).public),)) for m in MEMBERS])


def open_ledger(path: Path, member: str, *, signer: bool) -> Ledger:
    return Ledger.open(
        path,
        settings=LedgerSettings(CONSORTIUM, member, map_size=16 << 30),
        membership=membership(),
        signer=key(member) if signer else None,
        taxonomy=Taxonomy.default(),
    )


def serve(ledger: Ledger, replica: Replica) -> tuple[grpc.Server, int]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16), interceptors=[ErrorStatusInterceptor()])
    client_service.add_to_server(HashNodeServicer(ledger), server)
    peer_pb2_grpc.add_PeerServicer_to_server(PeerServicer(replica), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


# --- 1. bootstrap -------------------------------------------------------------------------------------------


def signed_entries(member: str, records: int, per_entry: int, seed: int) -> list[Entry]:
    """`records` realistic records (3 PDQ : 1 MD5, a label, a case id) in signed entries of `member`."""
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 256, size=(records, 32), dtype=np.uint8)
    entries: list[Entry] = []
    prev, now = ZERO_ID, time.time_ns() // 1_000_000 - 3_600_000
    for seq, start in enumerate(range(0, records, per_entry), start=1):
        items = []
        for i in range(start, min(start + per_entry, records)):
            if i % 4:
                record = HashRecord("pdq", raw[i].tobytes(), 90, (LABELS[i % 3],), (), f"case-{i}", "")
            else:
                record = HashRecord("md5", raw[i, :16].tobytes(), 0, (LABELS[i % 3],), (), f"case-{i}", "")
            items.append(record.encode())
        entry = sign_entry(
            key(member),
            consortium_id=CONSORTIUM,
            author=member,
            seq=seq,
            prev=prev,
            timestamp_ms=now + seq,
            kind=EntryKind.CONTRIBUTION,
            items=items,
        )
        entries.append(entry)
        prev = entry.entry_id
    return entries


def build_source(path: Path, records: int, per_entry: int) -> tuple[bytes, int]:
    """Fills the source node's store; returns its state digest and entry count."""
    entries = signed_entries("m1", records, per_entry, seed=1)
    ledger = open_ledger(path, "m0", signer=False)
    try:
        replica = Replica(ledger)
        for start in range(0, len(entries), 16):
            replica.receive(entries[start : start + 16])
        return replica.state_digest(), len(entries)
    finally:
        ledger.close()


def source_process(path: str, conn: Connection) -> None:
    ledger = open_ledger(Path(path), "m0", signer=False)
    server, port = serve(ledger, Replica(ledger))
    conn.send(port)
    conn.recv()  # until told to stop
    server.stop(None).wait()
    ledger.close()


def bootstrap(workdir: Path, records: int, per_entry: int) -> None:
    print(f"building a source node with {records:,} records in entries of {per_entry:,} ...", flush=True)
    began = time.perf_counter()
    digest, entries = build_source(workdir / "source", records, per_entry)
    print(f"  built in {time.perf_counter() - began:.1f} s ({entries:,} entries)")
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=source_process, args=(str(workdir / "source"), child))
    process.start()
    try:
        port = parent.recv()
        ledger = open_ledger(workdir / "fresh", "m2", signer=False)
        replica = Replica(ledger)
        replicator = Replicator(replica, [PeerAddress("m0", f"127.0.0.1:{port}")])
        began, cpu = time.perf_counter(), time.process_time()
        replicator.start()
        while replica.head("m1") is None or replica.head("m1").seq < entries:  # type: ignore[union-attr]
            time.sleep(0.01)
        elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
        replicator.stop()
        same = replica.state_digest() == digest
        ledger.close()
    finally:
        parent.send("stop")
        process.join(30)
    print(
        f"bootstrap: {records:,} records ({entries:,} entries) in {elapsed:.1f} s = {records / elapsed:,.0f} "
        f"records/s, full verification; state digest {'matches' if same else 'DIFFERS'}\n"
        f"  CPU time of the replicating process: {cpu:.1f} s (wall time depends on the machine's load)"
    )


# --- 2. propagation -----------------------------------------------------------------------------------------


def node_process(path: str, member: str, conn: Connection, commits: Any) -> None:
    """One consortium node: serves, replicates from the peers it is sent, reports every commit's time."""
    logging.basicConfig(level=logging.ERROR)  # peers going away at the end is expected, not worth a warning
    ledger = open_ledger(Path(path), member, signer=True)
    replica = Replica(ledger)
    ledger.on_commit(lambda entry: commits.put((member, entry.entry_id, time.time())))
    server, port = serve(ledger, replica)
    conn.send(port)
    peers = [PeerAddress(name, address) for name, address in conn.recv()]
    replicator = Replicator(replica, peers, settings=ReplicationSettings(anti_entropy_ms=2000))
    replicator.start()
    while ledger.authoring_blocked_reason or any(
        s.state is not PeerState.LIVE for s in replicator.statuses()
    ):
        time.sleep(0.01)
    conn.send("ready")
    conn.recv()
    replicator.stop()
    server.stop(None).wait()
    ledger.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def propagation(workdir: Path, nodes: int, samples: int) -> None:
    members = MEMBERS[:nodes]
    ctx = mp.get_context("spawn")
    commits = ctx.Queue()
    pipes, processes, ports = [], [], []
    for member in members:
        parent, child = ctx.Pipe()
        process = ctx.Process(target=node_process, args=(str(workdir / member), member, child, commits))
        process.start()
        pipes.append(parent)
        processes.append(process)
    try:
        ports = [pipe.recv() for pipe in pipes]
        for i, pipe in enumerate(pipes):
            pipe.send(
                [(m, f"127.0.0.1:{p}") for j, (m, p) in enumerate(zip(members, ports, strict=True)) if j != i]
            )
        for pipe in pipes:
            pipe.recv()
        print(
            f"propagation: {nodes} nodes up, every push stream live; {samples} contributions ...", flush=True
        )
        from_commit, from_submit = measure(members, ports, commits, samples)
    finally:
        for pipe in pipes:
            pipe.send("stop")
        for process in processes:
            process.join(30)
    for name, values in (("author's commit -> all", from_commit), ("Submit call -> all", from_submit)):
        print(
            f"  {name:24s} p50 {1000 * statistics.median(values):6.1f} ms   "
            f"p99 {1000 * percentile(values, 0.99):6.1f} ms   max {1000 * max(values):6.1f} ms"
        )


def measure(
    members: tuple[str, ...], ports: list[int], commits: Any, samples: int
) -> tuple[list[float], ...]:
    stubs = [client_pb2_grpc.HashNodeStub(grpc.insecure_channel(f"127.0.0.1:{p}")) for p in ports]
    rng = np.random.default_rng(7)
    seen: dict[bytes, dict[str, float]] = {}
    from_commit, from_submit = [], []
    for sample in range(samples):
        author = sample % len(members)
        value = rng.integers(0, 256, size=32, dtype=np.uint8).tobytes().hex()
        record = types_pb2.HashRecord(signal_type="pdq", value=value, quality=90, labels=[LABELS[0]])
        called = time.time()
        reply = stubs[author].Submit(client_pb2.SubmitRequest(records=[record]), timeout=10)
        entry_id = bytes.fromhex(reply.entry_id)
        deadline = time.monotonic() + 10
        while len(seen.get(entry_id, {})) < len(members) and time.monotonic() < deadline:
            member, committed_id, at = commits.get(timeout=10)
            seen.setdefault(committed_id, {})[member] = at
        times = seen.get(entry_id, {})
        if len(times) < len(members):
            raise SystemExit(f"entry of sample {sample} reached only {sorted(times)} within 10 s")
        last = max(times.values())
        from_commit.append(last - times[members[author]])
        from_submit.append(last - called)
        time.sleep(0.02)
    return from_commit, from_submit


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--per-entry", type=int, default=1000)
    parser.add_argument("--nodes", type=int, default=5)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--skip-bootstrap", action="store_true")
    parser.add_argument("--skip-propagation", action="store_true")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="hashnode-bench-") as tmp:
        if not args.skip_bootstrap:
            bootstrap(Path(tmp), args.records, args.per_entry)
        if not args.skip_propagation:
            propagation(Path(tmp), args.nodes, args.samples)
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
