"""A saved PDQ index snapshot, brought up to date from the store, answers exactly as a fresh build would."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from node.core.keys import SigningKey
from node.core.records import HashRecord
from node.core.taxonomy import Taxonomy
from node.ledger.ledger import Ledger, LedgerSettings, Query
from node.membership.members import Member, MemberKey, Membership
from node.storage import pdq_snapshot
from node.storage.store import Status

KEY = SigningKey.from_seed(bytes(range(32)))
MEMBERSHIP = Membership.from_members("snap", [Member("a", "A", (MemberKey(KEY.public),))])
LABEL = "tvec.propaganda"


def open_ledger(data: Path) -> Ledger:
    return Ledger.open(
        data, settings=LedgerSettings("snap", "a"), membership=MEMBERSHIP, signer=KEY, taxonomy=Taxonomy.default()
    )


def pdq_records(rng: random.Random, count: int) -> list[HashRecord]:
    return [HashRecord("pdq", rng.randbytes(32), 90, (LABEL,)) for _ in range(count)]


def answers(ledger: Ledger, probes: list[bytes]) -> list[list[bytes]]:
    hits = ledger.match([Query("pdq", p) for p in probes], pdq_threshold=31)
    return [[h.record_id for h in per_query] for per_query in hits]


def retract(ledger: Ledger, record_ids: list[bytes]) -> None:
    ledger.retract(record_ids, "test")


def reinstate(ledger: Ledger, record_id: bytes) -> None:
    """Puts a record back to active, as an upheld appeal would (status change through the ledger's own path)."""
    from node.ledger.ledger import IndexDelta

    delta = IndexDelta()
    with ledger.store.write() as txn:
        ledger.set_record_status(txn, record_id, Status.ACTIVE, delta)
    ledger.apply_index_delta(delta)


def test_a_restart_loads_the_snapshot_and_matches_like_a_build(tmp_path: Path) -> None:
    rng = random.Random(7)
    ledger = open_ledger(tmp_path)
    first = ledger.submit(pdq_records(rng, 300)).record_ids
    ledger.close()
    assert (tmp_path / "index" / pdq_snapshot.MARK_FILE).exists()

    # After the snapshot: more records, removals of old and new ones, and one record removed then reinstated.
    ledger = open_ledger(tmp_path)
    second = ledger.submit(pdq_records(rng, 200)).record_ids
    retract(ledger, [first[0], first[1], second[0]])
    reinstate(ledger, first[1])
    probes = [ledger.record(rid).record.value for rid in (*first[:5], *second[:5])]
    expected = answers(ledger, probes)
    # A crash: no snapshot saved for this session; the next start must replay the store's changes.
    ledger.snapshot_dir = None
    ledger.close()

    ledger = open_ledger(tmp_path)
    assert answers(ledger, probes) == expected
    assert expected[0] == [] and expected[1] == [first[1]] and expected[5] == []
    built = pdq_snapshot.build(ledger.store)
    assert len(built) == len(ledger.index) == 500 - 2
    ledger.close()


def test_a_snapshot_from_another_history_is_not_used(tmp_path: Path) -> None:
    """A store restored from a backup that then diverged must not trust the index saved before the restore."""
    rng = random.Random(8)
    other = open_ledger(tmp_path / "other")
    other_ids = other.submit(pdq_records(rng, 50)).record_ids
    other_value = other.record(other_ids[0]).record.value
    other.close()
    ledger = open_ledger(tmp_path / "node")
    ids = ledger.submit(pdq_records(rng, 60)).record_ids
    value = ledger.record(ids[0]).record.value
    ledger.snapshot_dir = None
    ledger.close()
    # The other store's snapshot is behind this store's watermarks, so only the record check can refuse it.
    shutil.copytree(tmp_path / "other" / "index", tmp_path / "node" / "index")
    ledger = open_ledger(tmp_path / "node")
    assert answers(ledger, [value, other_value]) == [[ids[0]], []]
    ledger.close()


@pytest.mark.parametrize("damage", ["truncate-array", "garbage-mark"])
def test_a_damaged_snapshot_falls_back_to_a_rebuild(tmp_path: Path, damage: str) -> None:
    rng = random.Random(9)
    ledger = open_ledger(tmp_path)
    ids = ledger.submit(pdq_records(rng, 40)).record_ids
    value = ledger.record(ids[3]).record.value
    ledger.close()
    directory = tmp_path / "index"
    if damage == "truncate-array":
        target = next(p for p in sorted(directory.glob("*.npy")) if p.stat().st_size > 128)
        target.write_bytes(target.read_bytes()[:64])
    else:
        (directory / pdq_snapshot.MARK_FILE).write_text("{not json")
    ledger = open_ledger(tmp_path)
    assert answers(ledger, [value]) == [[ids[3]]]
    ledger.close()


def test_an_empty_store_has_no_snapshot(tmp_path: Path) -> None:
    ledger = open_ledger(tmp_path)
    ledger.close()
    assert not (tmp_path / "index").exists()
    assert len(pdq_snapshot.build(open_ledger(tmp_path).store)) == 0


def test_catch_up_only_touches_records_whose_state_changed(tmp_path: Path) -> None:
    """Remove-then-reinstate after the snapshot leaves a record live exactly once (no duplicate answers)."""
    rng = np.random.default_rng(3)
    ledger = open_ledger(tmp_path)
    records = [HashRecord("pdq", rng.integers(0, 256, 32, dtype=np.uint8).tobytes(), 90, (LABEL,))]
    rid = ledger.submit(records).record_ids[0]
    ledger.close()
    ledger = open_ledger(tmp_path)
    retract(ledger, [rid])
    reinstate(ledger, rid)
    ledger.snapshot_dir = None
    ledger.close()
    ledger = open_ledger(tmp_path)
    assert answers(ledger, [records[0].value]) == [[rid]]
    ledger.close()


@pytest.mark.parametrize("first", [0, 1, 57, 299, 300])
def test_the_pdq_table_read_by_columns_is_the_table_read_record_by_record(tmp_path: Path, first: int) -> None:
    rng = random.Random(11)
    ledger = open_ledger(tmp_path)
    rids = ledger.submit(pdq_records(rng, 300)).record_ids
    retract(ledger, rids[50:60])  # gaps in the table
    with ledger.store.read() as txn:
        one_by_one = list(ledger.store.iter_pdq(txn, first))
        chunks = list(ledger.store.pdq_columns(txn, first, chunk=64))
        ordinals, hashes = pdq_snapshot._active_from(ledger.store, txn, first)
    assert b"".join(k for k, _ in chunks) == b"".join(k for k, _ in one_by_one)
    assert b"".join(v for _, v in chunks) == b"".join(v for _, v in one_by_one)
    assert ordinals.tolist() == [int.from_bytes(k, "big") for k, _ in one_by_one]
    assert hashes.tobytes() == b"".join(v for _, v in one_by_one)
    ledger.close()
