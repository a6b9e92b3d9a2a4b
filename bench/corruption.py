#!/usr/bin/env python3
"""Damaged stores: what `hashnode check` and the node do with stray bytes in the data file, and what the check
the node runs at every start costs.

    python bench/corruption.py                       # 1,000 trials on a 300-record store, start-up cost at 20,000
    python bench/corruption.py --trials 100 --records 100000

Trials (testkit/corruption.py, as tests/test_corruption.py, more of them): one store of 300 records (MD5,
SHA-256, PDQ; six entries) built through a real node; per trial a copy gets 1-3 runs of 1-64 random bytes at
seeded offsets past the meta pages; `check_store_at` (what `hashnode check` runs) and then a node on the copy
(the real server on 127.0.0.1:0) matching every record in one call. Prints the outcomes: served (every record
returned), refused (the node did not start, naming the damage), data_loss (the Match failed with DATA_LOSS);
and the counts that must be 0: clean misses, other codes, crashes, and damage the node met that the check did
not report (exit 1 if any is not).

Start-up cost: a store of `--records` records (a third each MD5, SHA-256, PDQ, entries of 1,000), then the
start-up check (`check_lookups_at`, in its child process) and the PDQ index build from the store, timed in the
same run; prints both and their ratio.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from node.storage import pdq_snapshot
from node.storage.integrity import check_lookups_at, check_store_at
from node.storage.store import Store
from testkit.consortium import example_membership
from testkit.corruption import build_store, damage, serve_trial


def trials(work: Path, count: int) -> bool:
    """Runs the trials and prints the outcomes; False when a promise broke."""
    base = work / "base"
    known = build_store(base)
    outcomes: Counter[str] = Counter()
    misses = unreported = 0
    started = time.monotonic()
    for seed in range(count):
        trial = work / f"t{seed}"
        shutil.copytree(base, trial)
        damage(trial / "lmdb/data.mdb", seed)
        report = check_store_at(trial / "lmdb")
        outcome = serve_trial(trial, known)
        outcomes[outcome.kind] += 1
        outcomes["check found problems"] += not report.ok
        misses += len(outcome.misses)
        unreported += outcome.kind != "served" and report.ok
        shutil.rmtree(trial)
    print(f"trials                        {count} ({time.monotonic() - started:.1f} s)")
    for kind in ("served", "refused", "data_loss", "check found problems"):
        print(f"  {kind:32}{outcomes.pop(kind, 0)}")
    print(f"  {'clean misses (must be 0)':32}{misses}")
    print(f"  {'met but unreported (must be 0)':32}{unreported}")
    print(f"  {'anything else (must be 0)':32}{sum(outcomes.values())} {dict(outcomes)}")
    return not (misses or unreported or sum(outcomes.values()))


def startup_cost(work: Path, records: int) -> None:
    directory = work / "big"
    build_store(directory, batches=max(1, records // 1000), size=min(records, 1000))
    store_path = directory / "lmdb"
    began = time.perf_counter()
    check_lookups_at(store_path)
    checked = time.perf_counter() - began
    store = Store.open(store_path, consortium_id=example_membership().consortium_id)
    try:
        began = time.perf_counter()
        pdq_snapshot.build(store)
        built = time.perf_counter() - began
    finally:
        store.close()
    print(f"start-up check at {records:,} records   {checked:.2f} s ({checked / records * 1e6:.1f} us a record)")
    print(f"PDQ index build, same store        {built:.2f} s (check / build {checked / built:.1f}x)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--records", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hn-corruption-") as work:
        kept = trials(Path(work), args.trials)
        startup_cost(Path(work), args.records)
    return 0 if kept else 1


if __name__ == "__main__":
    sys.exit(main())
