#!/usr/bin/env python3
"""What the check a node runs at every start costs (node/storage/integrity.py, `check_lookups`: the lookup
tables against the record rows), per record, beside the PDQ index build from the same store.

    python bench/startup_check.py                          # 30,000 and 300,000 records
    python bench/startup_check.py --records 30000 --profile

A store of each size is built through a real node (testkit/corruption.py: a third each MD5, SHA-256, PDQ,
contributions of 1,000). Then, best of `--repeat` runs each, timed in the same run: the check as the node runs
it at start (`check_lookups_at`: a forked child opening the store read-only), its compiled loop
(node/storage/_rowscan.c) and its Python loop in-process, the `quick` start-up check (counts of the tables'
rows, O(1)) and the PDQ index build (`pdq_snapshot.build`). Prints microseconds per record and the ratios.
`--profile` prints where the check's time goes (cProfile, Python loop and compiled loop).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from node.storage import integrity, pdq_snapshot
from node.storage.integrity import IntegrityReport, check_lookups_at, quick_check_lookups
from node.storage.store import Store
from testkit.consortium import example_membership
from testkit.corruption import build_store


def best(repeat: int, task: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        task()
        times.append(time.perf_counter() - began)
    return min(times)


def lookups(store: Store, compiled: bool) -> None:
    report = IntegrityReport()
    with store.read() as txn:
        integrity._check_lookups(store, txn, report, full=False, compiled=compiled)
    assert report.ok, report.problems


def measure(work: Path, records: int, repeat: int, profile: bool) -> None:
    directory = work / f"s{records}"
    build_store(directory, batches=max(1, records // 1000), size=min(records, 1000))
    path = directory / "lmdb"
    at_start = best(repeat, lambda: check_lookups_at(path))
    store = Store.open(path, consortium_id=example_membership().consortium_id)
    try:
        compiled = best(repeat, lambda: lookups(store, True)) if integrity.compiled_lookups else float("nan")
        python = best(repeat, lambda: lookups(store, False))
        quick = best(repeat, lambda: quick_check_lookups(store))
        built = best(repeat, lambda: pdq_snapshot.build(store))
        if profile:
            for name, flag in (("Python loop", False), ("compiled loop", True)):
                print(f"--- profile, {name}, {records:,} records")
                profiler = cProfile.Profile()
                profiler.runcall(lookups, store, flag)
                pstats.Stats(profiler).sort_stats("tottime").print_stats(8)
    finally:
        store.close()

    def us(seconds: float) -> str:
        return f"{seconds:7.2f} s {seconds / records * 1e6:7.2f} us a record"

    print(f"{records:,} records")
    print(f"  start-up check (child, as at start)  {us(at_start)}  check / PDQ build {at_start / built:5.1f}x")
    print(f"  its loop, compiled (in-process)      {us(compiled)}  Python / compiled {python / compiled:5.1f}x")
    print(f"  its loop, Python (in-process)        {us(python)}  check / PDQ build {python / built:5.1f}x")
    print(f"  quick check (table counts)           {quick * 1e3:7.3f} ms")
    print(f"  PDQ index build                      {us(built)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, action="append", help="default: 30,000 and 300,000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hn-startcheck-") as work:
        for records in args.records or [30_000, 300_000]:
            measure(Path(work), records, args.repeat, args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
