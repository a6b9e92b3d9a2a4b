#!/usr/bin/env python3
"""Partition rounds: split, isolated node, flapping link, black hole and slow link, on a three-process
loopback consortium whose peer links each go through a controllable TCP proxy.

    python bench/partition.py --rounds 50 --seed 1

Each round runs one scenario (every scenario in turn, then at random), contributing on every side while the
network is broken, then heals it and requires convergence, every acknowledged record on every node, and no
fork evidence (testkit/partition.py). Prints scenarios run and converged, per scenario, with the time
to converge after the heal. Exit status 1 if any round failed.
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testkit.consortium import LocalConsortium
from testkit.partition import SCENARIOS, PartitionRunner


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=3.0, help="how long the network stays broken")
    parser.add_argument("--dir", type=Path, help="where the nodes keep their data (default: a temp dir)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    names = [SCENARIOS[i] if i < len(SCENARIOS) else rng.choice(SCENARIOS) for i in range(args.rounds)]

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hashnode-partition-") as scratch:
        directory = args.dir or Path(scratch)
        with LocalConsortium(directory, proxied=True, call_timeout_s=3.0) as consortium:
            consortium.start()
            runner = PartitionRunner(consortium, seed=args.seed, seconds=args.seconds)
            for i, name in enumerate(names):
                result = runner.run(name)
                print(
                    f"  {i + 1}/{args.rounds} {name:9} acknowledged {result.acknowledged:5d}  "
                    f"converged {result.converged} in {result.converge_seconds:.2f} s"
                    + (f"  PROBLEMS {result.problems}" if result.problems else ""),
                    file=sys.stderr,
                    flush=True,
                )
    elapsed = time.monotonic() - started
    by_name: dict[str, list[float]] = collections.defaultdict(list)
    failed = collections.Counter(r.name for r in runner.results if not r.ok)
    for result in runner.results:
        if result.ok:
            by_name[result.name].append(result.converge_seconds)
    total_ok = sum(len(v) for v in by_name.values())
    print(f"partition rounds: seed {args.seed}, {args.rounds} rounds in {elapsed:.0f} s")
    print(f"  scenarios run {len(runner.results)}, converged with nothing lost {total_ok}")
    print(f"  acknowledged records {len(runner.contributions)}")
    for name in SCENARIOS:
        times = sorted(by_name.get(name, [])) or [0.0]
        count = len(by_name.get(name, [])) + failed[name]
        print(
            f"  {name:9} run {count:3d}  converged {len(by_name.get(name, [])):3d}  "
            f"converge after heal: median {times[len(times) // 2]:.2f} s, max {times[-1]:.2f} s"
        )
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
