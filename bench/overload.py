#!/usr/bin/env python3
"""Overload: many clients with short deadlines against one node, and what the node does about it.

    python bench/overload.py [--clients 64] [--batch 1000] [--deadline 1.0] [--seconds 10] [--records 20000]

One `hashnode serve` process (insecure loopback mode, example keys) holding `--records` PDQ records. Then:

1. baseline: one Match call of `--batch` random PDQ queries at a time, unloaded (its latency), and the node's
   resident memory (RSS) at rest;
2. a Match storm: `--clients` clients, each with its own connection, send Match calls of `--batch` queries with
   a `--deadline` deadline back to back for `--seconds` seconds; the outcome of every call by status code, the
   latency of the calls shed (RESOURCE_EXHAUSTED) and of those answered, the retry hints, the RSS sampled
   every 100 ms;
3. the RSS `--settle` seconds after the storm (memory returns to its baseline);
4. a Submit storm: the same clients submit batches of `--submit-batch` new records with the same deadline,
   each with a request id, sending a refused or timed-out call again after the node's hint; at the end, the
   records the node holds against the records the clients saw acknowledged (an orphan is a record committed
   for a call no client saw succeed: 0 with idempotent submissions).

Lines beginning `figure:` are what docs/reliability.md quotes. Exits 1 if a promise broke: no call refused, a
refusal without a hint, an orphan record, an ERROR line in the node's log.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import grpc

from testkit.checks import submit_batch
from testkit.consortium import LocalConsortium, ProcessNode
from testkit.overload import MATCH, match_request, match_storm, percentile, submit_storm

MIB = 1 << 20


def rss(node: ProcessNode) -> int:
    return node.memory()["rss"]


def baseline_latency(node: ProcessNode, batch: int, calls: int = 20) -> float:
    assert node.process is not None
    request = match_request(random.Random(1), batch)
    with grpc.insecure_channel(node.process.target) as channel:
        call = channel.unary_unary(MATCH)
        call(request, timeout=30)
        times = []
        for _ in range(calls):
            start = time.monotonic()
            call(request, timeout=30)
            times.append(time.monotonic() - start)
    return percentile(times, 0.5)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--deadline", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--settle", type=float, default=5.0)
    parser.add_argument("--submit-batch", type=int, default=100)
    parser.add_argument("--no-request-id", action="store_true", help="submit without request ids (older nodes)")
    parser.add_argument("--extra", default="", help="TOML appended to the node's config")
    parser.add_argument("--max-calls", type=int, help="[node] max_calls (default: the node's default)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="overload-") as tmp, LocalConsortium(
        Path(tmp), names=("a",), extra={"a": args.extra}
    ) as consortium:
        node = consortium["a"]
        if args.max_calls is not None:
            limit = f"insecure = true\nmax_calls = {args.max_calls}\n"
            node.config.write_text(node.config.read_text().replace("insecure = true\n", limit))
        node.start()
        assert node.process is not None
        for n in range(0, args.records, 1000):
            submit_batch(node.client, f"load {n}", min(1000, args.records - n), timeout=60)
        unloaded = baseline_latency(node, args.batch)
        time.sleep(1)
        before = rss(node)
        print(f"node holds {args.records} PDQ records; one Match of {args.batch} unloaded: {ms(unloaded)}")
        storm = match_storm(
            node.process.target,
            clients=args.clients,
            batch=args.batch,
            deadline=args.deadline,
            seconds=args.seconds,
            rss=lambda: rss(node),
        )
        time.sleep(args.settle)
        after = rss(node)
        codes = storm.codes()
        total = sum(codes.values())
        print(f"match storm: {args.clients} clients, batches of {args.batch}, deadline {args.deadline} s, "
              f"{args.seconds:.0f} s: {total} calls")
        for code, count in codes.most_common():
            print(f"  {code:<20} {count:>6}  {count / total:6.1%}")
        shed = [o.seconds for o in storm.of(grpc.StatusCode.RESOURCE_EXHAUSTED)]
        answered = [o.seconds for o in storm.of(grpc.StatusCode.OK)]
        hints = [o.hint_ms for o in storm.of(grpc.StatusCode.RESOURCE_EXHAUSTED) if o.hint_ms is not None]
        print(f"figure: shed {len(shed) / max(1, total):.1%} of calls; shed latency p50 "
              f"{ms(percentile(shed, 0.5))} p99 {ms(percentile(shed, 0.99))}")
        print(f"figure: answered latency p50 {ms(percentile(answered, 0.5))} p99 {ms(percentile(answered, 0.99))}"
              f" ({percentile(answered, 0.5) / unloaded:.1f}x the unloaded call)")
        if hints:
            print(f"figure: retry hint p50 {percentile([float(h) for h in hints], 0.5):.0f} ms, "
                  f"{len(hints)} of {len(shed)} shed calls carried one")
        peak = max(storm.rss, default=before)
        print(f"figure: RSS before {before / MIB:.0f} MiB, peak {peak / MIB:.0f} MiB "
              f"({peak / before:.2f}x), {args.settle:.0f} s after {after / MIB:.0f} MiB ({after / before:.2f}x)")
        held = node.stats().records
        seen = submit_storm(
            node.process.target,
            clients=args.clients,
            batch=args.submit_batch,
            deadline=args.deadline,
            seconds=args.seconds,
            request_ids=not args.no_request_id,
        )
        committed = node.stats().records - held
        attempts = seen.codes()
        print(f"submit storm: {sum(attempts.values())} attempts: "
              + ", ".join(f"{code} {count}" for code, count in attempts.most_common()))
        print(f"figure: submissions acknowledged {len(seen.acknowledged) // args.submit_batch} "
              f"({seen.retried} after a retry), gave up {len(seen.gave_up)}; records committed {committed}, "
              f"acknowledged {len(seen.acknowledged)}, orphans {committed - len(seen.acknowledged)}")
        errors = [line for line in node.log_text().splitlines() if " ERROR " in line]
        print(f"ERROR lines in the node's log: {len(errors)}")
        for line in errors[:5]:
            print(f"  {line[:200]}")
        orphans = committed - len(seen.acknowledged)
    broken = [
        what
        for what, failed in (
            ("no call was refused", not shed),
            ("a refusal without a retry hint", len(hints) < len(shed)),
            (f"{orphans} orphan records", orphans != 0),
            (f"{len(errors)} ERROR lines", bool(errors)),
        )
        if failed
    ]
    print("promises kept" if not broken else "BROKEN: " + "; ".join(broken))
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
