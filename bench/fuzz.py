#!/usr/bin/env python3
"""Fuzz run: every decoder and every RPC with random and mutated input; internal errors must be 0.

    python bench/fuzz.py --inputs 100000 --seed 1

Decoders (testkit/fuzz.py `DECODERS`): entry header, signed entry, hash record, retraction, opinion,
appeal and decision items, roster bytes and files, join requests, provenance bundles (protobuf and JSON, fully
verified against the pinned roster) and the peer wire messages. A crash (any exception but a hashnode error,
or a protobuf decode error for protobuf containers) or an accepted non-canonical encoding is a failure.

RPCs: every method of HashNode, Peer, Membership and Admin on a real node on 127.0.0.1 (this process,
insecure loopback mode). INTERNAL or UNKNOWN is a failure, and so is a refused call after which the store's
counters, state digest, roster version or peers differ. At the end the node's store is checked offline
(node/storage/integrity.py).

`--rpc-share` of the inputs go to the RPCs (default 0.2; an RPC costs a few milliseconds, a decode tens of
microseconds). Prints counts per target. Exit status 1 on any failure.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from node.storage.integrity import check_store
from testkit.fuzz import (
    DECODERS,
    Counts,
    FuzzFailure,
    FuzzNode,
    RpcFuzzer,
    decoder_input,
    trusted_membership,
)


def fuzz_decoders(inputs: int, rng: random.Random) -> dict[str, Counts]:
    counts = {t.name: Counts() for t in DECODERS}
    seeds = {t.name: t.seeds() for t in DECODERS}
    for i in range(inputs):
        target = DECODERS[i % len(DECODERS)]
        found = counts[target.name]
        found.inputs += 1
        try:
            if target.check(decoder_input(target, seeds[target.name], rng)):
                found.accepted += 1
            else:
                found.refused += 1
        except FuzzFailure as exc:
            found.failures.append(str(exc))
    return counts


def print_counts(title: str, counts: dict[str, Counts]) -> int:
    print(f"  {title:36} {'inputs':>8} {'accepted':>9} {'refused':>8} {'internal':>9}")
    failures = 0
    for name, found in counts.items():
        failures += len(found.failures)
        print(
            f"  {name:36} {found.inputs:8d} {found.accepted:9d} {found.refused:8d} {len(found.failures):9d}"
        )
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--inputs", type=int, default=100_000, help="inputs in all (default 100000)")
    parser.add_argument("--rpc-share", type=float, default=0.2, help="share of the inputs sent as RPCs")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rpc_inputs = int(args.inputs * args.rpc_share)
    rng = random.Random(args.seed)

    started = time.monotonic()
    decoders = fuzz_decoders(args.inputs - rpc_inputs, rng)
    decode_seconds = time.monotonic() - started
    with tempfile.TemporaryDirectory(prefix="hashnode-fuzz-") as scratch:
        node = FuzzNode(Path(scratch))
        try:
            fuzzer = RpcFuzzer(node.channels, node.probe, node.targets())
            rpc_started = time.monotonic()
            fuzzer.run(rpc_inputs, rng)
            rpc_seconds = time.monotonic() - rpc_started
            report = check_store(node.runtime.ledger.store, trusted_membership())
        finally:
            node.close()

    print(f"fuzz: seed {args.seed}, {args.inputs} inputs")
    failures = print_counts(f"decoders ({decode_seconds:.0f} s)", decoders)
    failures += print_counts(f"RPCs ({rpc_seconds:.0f} s)", fuzzer.counts)
    total = sum(c.inputs for c in decoders.values()) + sum(c.inputs for c in fuzzer.counts.values())
    print(f"  inputs {total}, internal errors / crashes / partial writes {failures}")
    print(f"  fuzzed node's store afterwards: {report.summary()}")
    for found in [*decoders.values(), *fuzzer.counts.values()]:
        for failure in found.failures[:3]:
            print(f"  FAILURE {failure[:300]}")
    return 0 if failures == 0 and report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
