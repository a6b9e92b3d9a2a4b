#!/usr/bin/env python3
"""Crash harness: SIGKILL nodes of a three-process loopback consortium at random points; nothing acknowledged
may be lost.

    python bench/crash.py --iterations 100 --seed 1

Each iteration kills one node (`hashnode serve`, insecure loopback mode, example keys) during ingest, during
catch-up after a restart, or while it is still starting; checks its store offline (every log a contiguous
signed chain matching its head, records and counters consistent); restarts it; waits for the consortium to
converge; and checks every acknowledged record is matched on it, with the provenance of the iteration's new
records verifying against the pinned roster. At the end every node is checked for every acknowledged record,
stopped with SIGTERM and checked offline. See testkit/crash.py. Exit status 1 if anything was lost.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testkit.consortium import LocalConsortium, example_membership
from testkit.crash import CrashHarness


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--iterations", type=int, default=100, help="kill/restart/check rounds (default 100)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=20, help="largest Submit batch, records (default 20)")
    parser.add_argument("--backlog", type=int, default=20, help="batches a killed node misses (default 20)")
    parser.add_argument("--dir", type=Path, help="where the nodes keep their data (default: a temp dir)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="hashnode-crash-") as scratch:
        directory = args.dir or Path(scratch)
        started = time.monotonic()
        with LocalConsortium(directory) as consortium:
            consortium.start()
            harness = CrashHarness(
                consortium,
                example_membership(),
                seed=args.seed,
                max_batch=args.batch,
                backlog_batches=args.backlog,
            )
            figures = harness.run(args.iterations, progress=True)
            harness.final_check()
        elapsed = time.monotonic() - started
    print(f"crash harness: seed {args.seed}, {args.iterations} iterations in {elapsed:.0f} s")
    for line in figures.lines():
        print(f"  {line}")
    for failure in figures.failures:
        print(f"  FAILURE {failure}")
    return 0 if figures.ok else 1


if __name__ == "__main__":
    sys.exit(main())
