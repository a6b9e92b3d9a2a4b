#!/usr/bin/env python3
"""Scale-out: matching throughput through nginx over 1, 2 and 3 followers, and what the proxy hop adds.

    python bench/scaleout.py                            # 200,000 PDQ records, 10 s per setting
    python bench/scaleout.py --records 1000000 --seconds 20

The member platform-a runs as in docs/scale-out.md (testkit/scaleout.py): its writer, three followers
replicating from it, nginx balancing gRPC calls over the followers' client listeners (TLS to them, the client
token passed through). The writer gets `--records` random PDQ records (Submit, 10,000 per call), the followers
replicate them, then `--clients` client threads in this process send batched Match calls (`--batch` random PDQ
hashes each) through nginx for `--seconds`, with nginx balancing over the first 1, then 2, then 3 followers.

Printed per setting: lookups per second; the CPU seconds per 1,000 lookups spent by the followers (all of them
together), by nginx and by this client process, from /proc. On this machine every process shares the same
cores, so the throughput is bounded by the cores, not by the followers: the followers' CPU per lookup is the
figure to extrapolate from (a follower with one core of its own serves about 1 / that many lookups a second).
Then the proxy hop: one-hash Match calls, alternately straight to a follower (TLS) and through nginx, p50 and
p99 of each (`--singles` calls each).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from node.api.gen.hashnode.v1 import admin_pb2, admin_pb2_grpc, client_pb2, client_pb2_grpc, types_pb2
from node.cli.command_base import channel
from testkit.consortium import EXAMPLE_KEYS
from testkit.scaleout import (
    CLIENT_TOKEN,
    MEMBER,
    ScaledMember,
    client_channel,
    nginx_binary,
    scaled_member,
)

CERTIFICATE = EXAMPLE_KEYS / f"{MEMBER}.crt"
ADMIN_TOKEN = EXAMPLE_KEYS / f"{MEMBER}.admin-token"
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def children_cpu(pid: int) -> float:
    """nginx: its master and its worker (the children of the master)."""
    total = cpu_seconds(pid)
    for task in Path("/proc").iterdir():
        if task.name.isdigit():
            try:
                stat = (task / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                total += cpu_seconds(int(task.name))
    return total


def load_average() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def fill(member: ScaledMember, records: int) -> None:
    rng = random.Random(1)
    with client_channel(member.writer.address, ca=CERTIFICATE) as opened:
        stub = client_pb2_grpc.HashNodeStub(opened)
        for first in range(0, records, 10_000):
            batch = [
                types_pb2.HashRecord(
                    signal_type="pdq", value=f"{rng.getrandbits(256):064x}", quality=90, labels=["tvec.propaganda"]
                )
                for _ in range(min(10_000, records - first))
            ]
            stub.Submit(client_pb2.SubmitRequest(records=batch), timeout=120)


def record_count(address: str) -> int:
    token = ADMIN_TOKEN.read_text().strip()
    with channel(address) as opened:
        stats = admin_pb2_grpc.AdminStub(opened).GetStats(
            admin_pb2.StatsRequest(), metadata=[("authorization", f"Bearer {token}")], timeout=10
        )
    return int(stats.records)


def wait_replicated(member: ScaledMember, records: int, timeout: float = 600) -> float:
    start = time.monotonic()
    for follower in member.followers:
        assert follower is not None
        while record_count(follower.admin_address) < records:
            if time.monotonic() - start > timeout:
                raise SystemExit(f"followers did not replicate {records} records in {timeout:.0f} s")
            time.sleep(0.5)
    return time.monotonic() - start


def drive(target: str, clients: int, batch: int, seconds: float) -> int:
    """Batched Match calls through `target` from `clients` threads for `seconds`; the lookups answered."""
    stop = threading.Event()
    answered = [0] * clients
    failures: list[str] = []

    def client(index: int) -> None:
        rng = random.Random(index)
        queries = [client_pb2.HashQuery(signal_type="pdq", value=f"{rng.getrandbits(256):064x}") for _ in range(batch)]
        request = client_pb2.MatchRequest(queries=queries)
        with client_channel(target) as opened:
            stub = client_pb2_grpc.HashNodeStub(opened)
            while not stop.is_set():
                try:
                    stub.Match(request, timeout=30)
                    answered[index] += batch
                except Exception as exc:  # a bench reports failures instead of dying on them
                    failures.append(repr(exc)[:200])

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(60)
    if failures:
        print(f"    {len(failures)} failed calls, e.g. {failures[0]}")
    return sum(answered)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def hop(member: ScaledMember, singles: int) -> tuple[list[float], list[float]]:
    """One-hash Match latencies (ms): straight to follower 0 over TLS, and through nginx; interleaved."""
    follower = member.followers[0]
    assert follower is not None
    value = hashlib.sha256(b"hop").hexdigest()
    request = client_pb2.MatchRequest(queries=[client_pb2.HashQuery(signal_type="pdq", value=value)])
    direct: list[float] = []
    proxied: list[float] = []
    with client_channel(follower.address, ca=CERTIFICATE) as straight, client_channel(member.nginx.address) as via:
        stubs = ((client_pb2_grpc.HashNodeStub(straight), direct), (client_pb2_grpc.HashNodeStub(via), proxied))
        for stub, _ in stubs:  # warm both connections
            stub.Match(request, timeout=10)
        for _ in range(singles):
            for stub, found in stubs:
                start = time.perf_counter()
                stub.Match(request, timeout=10)
                found.append((time.perf_counter() - start) * 1000)
    return direct, proxied


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--singles", type=int, default=1_000)
    parser.add_argument("--work", type=Path, help="scratch directory (default: a new temporary one)")
    args = parser.parse_args()
    nginx = nginx_binary()
    if nginx is None:
        print("nginx is not installed and could not be installed (apt-get install nginx-light)")
        return 1
    work = args.work or Path(tempfile.mkdtemp(prefix="hashnode-scaleout-"))
    print(f"scale-out: {args.records:,} PDQ records; {args.clients} clients x {args.batch}-hash Match calls; "
          f"{os.cpu_count()} CPUs; {load_average()}")
    assert CLIENT_TOKEN.exists()
    with scaled_member(work, 3, nginx=nginx) as member:
        start = time.monotonic()
        fill(member, args.records)
        print(f"  writer signed {args.records:,} records in {time.monotonic() - start:.1f} s; "
              f"followers replicated them {wait_replicated(member, args.records):.1f} s later")
        followers = [p for p in member.followers if p is not None]
        print(f"  {'followers':>9} {'lookups/s':>10} {'CPU s per 1,000 lookups: followers':>36} {'nginx':>7} "
              f"{'client':>7}   load")
        for count in (1, 2, 3):
            member.nginx.stop()
            member.nginx.start([p.address for p in followers[:count]])
            drive(member.nginx.address, args.clients, args.batch, 1.0)  # warm-up
            before = (
                [cpu_seconds(p.process.pid) for p in followers],
                children_cpu(member.nginx.pid),
                time.process_time(),
            )
            elapsed = time.monotonic()
            lookups = drive(member.nginx.address, args.clients, args.batch, args.seconds)
            elapsed = time.monotonic() - elapsed
            follower_cpu = sum(cpu_seconds(p.process.pid) for p in followers) - sum(before[0])
            nginx_cpu = children_cpu(member.nginx.pid) - before[1]
            client_cpu = time.process_time() - before[2]
            per = 1000 / max(lookups, 1)
            print(f"  {count:>9} {lookups / elapsed:>10,.0f} {follower_cpu * per:>36.3f} {nginx_cpu * per:>7.3f} "
                  f"{client_cpu * per:>7.3f}   {os.getloadavg()[0]:.2f}")
        direct, proxied = hop(member, args.singles)
        print(f"  one-hash Match, {args.singles} calls each: straight to a follower (TLS) p50 "
              f"{percentile(direct, 0.5):.2f} ms p99 {percentile(direct, 0.99):.2f} ms; through nginx p50 "
              f"{percentile(proxied, 0.5):.2f} ms p99 {percentile(proxied, 0.99):.2f} ms "
              f"(+{percentile(proxied, 0.5) - percentile(direct, 0.5):.2f} ms at p50)")
    print(f"  {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
