"""Saved PDQ index snapshots, so that a node with millions of hashes serves seconds after it starts.

The index lives in memory and is derived from the store. Rebuilding it from LMDB at 10M hashes takes longer than
a start-up should, so a node saves the index when it shuts down and loads it (memory-mapped, milliseconds) at the
next start, then brings it up to date from the store:

* records added since the snapshot: every active PDQ record with an ordinal at or above the snapshot's
  `next_ordinal` (ordinals only grow), and the frames of every such vpdq record (node/index/video.py: a video's
  frames are rows of the same index);
* status changes since the snapshot (retracted, overturned, withheld, reinstated): the store's PDQ change log from
  the snapshot's `next_change` on.

A snapshot is used only if it belongs to this store's history: its watermarks are not ahead of the store, and the
record at its last ordinal is the same record (a restored backup that diverged fails that check). Anything else,
or any damage to the snapshot, falls back to a rebuild: a snapshot is a cache, never a source of truth.
"""

from __future__ import annotations

import itertools
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from node.core.records import record_id
from node.index.pdq import PdqIndex
from node.index.video import video_rows
from node.storage.store import Store, Txn

log = logging.getLogger(__name__)
MARK_FILE = "hashnode-snapshot.json"


@dataclass(frozen=True)
class Watermark:
    next_ordinal: int
    next_change: int
    last_record_id: str  # hex id of the record at next_ordinal - 1 ("" for an empty store)

    @classmethod
    def of(cls, store: Store, txn: Txn) -> Watermark:
        next_ordinal, next_change = store.pdq_watermark(txn)
        return cls(next_ordinal, next_change, _record_at(store, txn, next_ordinal - 1))


def _record_at(store: Store, txn: Txn, ordinal: int) -> str:
    row = store.record(txn, ordinal) if ordinal >= 0 else None
    return "" if row is None else record_id(row.entry_id, row.index).hex()


def build(store: Store) -> PdqIndex:
    """Builds the index from every active PDQ record and every active vpdq record's frames in the store."""
    with store.read() as txn:
        ordinals, hashes = _active_from(store, txn, 0)
    return PdqIndex.build(ordinals, hashes) if len(ordinals) else PdqIndex()


def _active_from(store: Store, txn: Txn, first: int) -> tuple[np.ndarray, np.ndarray]:
    """(ordinals, hashes) of the active PDQ records from ordinal `first` on, read in chunks into arrays sized
    by the table (pages of the unused part are never touched), so a 10M-record read holds no per-record
    Python objects."""
    capacity = store.pdq_count(txn) + store.frame_count(txn)
    ordinals, hashes = np.empty(capacity, dtype=np.int64), np.empty((capacity, 32), dtype=np.uint8)
    count = 0
    for keys, values in itertools.chain(store.pdq_columns(txn, first), store.frame_columns(txn, first)):
        size = len(keys) // 8
        ordinals[count : count + size] = np.frombuffer(keys, dtype=">u8")
        hashes[count : count + size] = np.frombuffer(values, dtype=np.uint8).reshape(-1, 32)
        count += size
    if count < capacity // 2:  # a catch-up: keep only what was read
        return ordinals[:count].copy(), hashes[:count].copy()
    return ordinals[:count], hashes[:count]


def load_or_build(store: Store, directory: Path) -> PdqIndex:
    """The index from the snapshot in `directory` brought up to date, or a fresh build if it cannot be used."""
    try:
        mark = Watermark(**json.loads((directory / MARK_FILE).read_text()))
    except FileNotFoundError:
        return build(store)
    except (OSError, ValueError, TypeError) as exc:
        log.warning("index snapshot %s is unreadable (%s); rebuilding the index", directory, exc)
        return build(store)
    with store.read() as txn:
        current = Watermark.of(store, txn)
        if not _same_history(store, txn, mark, current):
            log.warning("index snapshot %s is not of this store's history; rebuilding the index", directory)
            return build(store)
        try:
            index = PdqIndex.load(directory)
        except (OSError, ValueError) as exc:
            log.warning("index snapshot %s is damaged (%s); rebuilding the index", directory, exc)
            return build(store)
        _catch_up(store, txn, index, mark)
    return index


def _same_history(store: Store, txn: Txn, mark: Watermark, current: Watermark) -> bool:
    if mark.next_ordinal > current.next_ordinal or mark.next_change > current.next_change:
        return False
    return _record_at(store, txn, mark.next_ordinal - 1) == mark.last_record_id


def _catch_up(store: Store, txn: Txn, index: PdqIndex, mark: Watermark) -> None:
    """Applies what the store gained after the snapshot was taken."""
    first_seen: dict[int, bool] = {}
    last_seen: dict[int, bool] = {}
    for ordinal, active in store.pdq_changes(txn, mark.next_change):
        if ordinal < mark.next_ordinal:  # newer records come from the table scan below, in their final state
            first_seen.setdefault(ordinal, active)
            last_seen[ordinal] = active
    # A record's first logged change tells its state in the snapshot (a removal means it was live), the last one
    # its state now: only records whose state differs need an update.
    removed = [o for o, active in last_seen.items() if not active and not first_seen[o]]
    revived = [o for o, active in last_seen.items() if active and first_seen[o]]
    if removed:
        index.remove(_rows_of(store, txn, removed)[0])
    if revived:
        ordinals, hashes = _rows_of(store, txn, revived)
        index.add(ordinals, hashes)
    ordinals, hashes = _active_from(store, txn, mark.next_ordinal)
    if len(ordinals):
        index.add(ordinals, hashes)


def _rows_of(store: Store, txn: Txn, ordinals: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(keys, hashes) of the index rows of the records at `ordinals`: a PDQ record's one, a video's frames."""
    keys, hashes = [np.empty(0, np.int64)], [np.empty((0, 32), np.uint8)]
    for row in (store.record(txn, o) for o in sorted(ordinals)):
        if row is None:
            continue
        if row.record.signal_type == "vpdq":
            frame_keys, frame_hashes = video_rows(row.ordinal, row.record.value)
            keys.append(frame_keys)
            hashes.append(frame_hashes)
        else:
            keys.append(np.asarray([row.ordinal], dtype=np.int64))
            hashes.append(np.frombuffer(row.record.value, np.uint8).reshape(1, 32))
    return np.concatenate(keys), np.concatenate(hashes)


def save(store: Store, index: PdqIndex, directory: Path) -> None:
    """Saves `index` with the store's current watermarks. Call with no writer running (at shutdown).

    The watermark file is written last and removed first, so an interrupted save leaves no usable snapshot.
    """
    (directory / MARK_FILE).unlink(missing_ok=True)
    with store.read() as txn:
        mark = Watermark.of(store, txn)
    if len(index) == 0:
        shutil.rmtree(directory, ignore_errors=True)
        return
    index.wait_for_merges()
    index.save(directory)
    aside = directory / (MARK_FILE + ".tmp")
    aside.write_text(json.dumps(mark.__dict__))
    aside.replace(directory / MARK_FILE)
