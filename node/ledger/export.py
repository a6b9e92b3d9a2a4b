"""Reading a node's stored records out in resumable, bounded pages (ExportRecords, `hashnode export`).

Records are read in store order (their ordinal: the order this node stored them, which only grows), so a
cursor is simply the next ordinal to read. A page is read in its own short read transaction: a long export
never pins an old LMDB snapshot, and records stored while an export runs are picked up by it, after the ones
before them. A record whose status changes during an export is shown as it is when its page is read.

A page is bounded both in records and in bytes, so that a page always fits in one gRPC message whatever the
records' metadata.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from node.ledger.ledger import StoredRecord
from node.storage.store import RecordRow, Status, Store

DEFAULT_BATCH = 1000
MAX_BATCH = 10_000
MAX_PAGE_BYTES = 4 << 20  # well below the 16 MiB message limit, with room for RecordInfo's framing
_ROW_OVERHEAD = 160  # protobuf bytes a RecordInfo adds to the record item (ids, author, numbers)
_SCAN_FACTOR = 8  # rows one page may skip (filtered out) per record it may hold, before it yields control


@dataclass(frozen=True)
class Selection:
    """Which stored records an export includes."""

    author: str | None = None  # only this member's contributions; None: everyone's
    include_inactive: bool = False  # also retracted, overturned and suspended records
    signal_types: frozenset[str] = frozenset()  # empty: every type

    def admits(self, row: RecordRow) -> bool:
        if self.author is not None and row.author != self.author:
            return False
        if not self.include_inactive and row.status != Status.ACTIVE:
            return False
        return not self.signal_types or row.record.signal_type in self.signal_types


@dataclass(frozen=True)
class ExportPage:
    """Records of one page and the cursor after it (pass it back to resume)."""

    records: list[StoredRecord]
    next_cursor: int


def export_pages(
    store: Store, selection: Selection, *, after_cursor: int = 0, batch_size: int = DEFAULT_BATCH
) -> Iterator[ExportPage]:
    """Pages of selected records from `after_cursor` to the end of the store.

    Every page holds at least one record except the last, which may be empty: it still carries the final
    cursor, so a caller that resumes later does not rescan what was filtered out. At least one page is
    yielded.
    """
    cursor, yielded_cursor = after_cursor, None
    while True:
        records, cursor, exhausted = _read_page(store, selection, cursor, batch_size)
        if records or (exhausted and cursor != yielded_cursor):
            yield ExportPage(records, cursor)
            yielded_cursor = cursor
        if exhausted:
            return


def _read_page(
    store: Store, selection: Selection, cursor: int, batch_size: int
) -> tuple[list[StoredRecord], int, bool]:
    """Up to `batch_size` selected records from `cursor`: (records, next cursor, whether the store ended)."""
    records: list[StoredRecord] = []
    size, scanned = 0, 0
    with store.read() as txn:
        for row in store.records_from(txn, cursor):
            cursor = row.ordinal + 1
            scanned += 1
            if selection.admits(row):
                records.append(StoredRecord.from_row(row))
                size += len(row.item) + _ROW_OVERHEAD
            if len(records) >= batch_size or size >= MAX_PAGE_BYTES or scanned >= batch_size * _SCAN_FACTOR:
                return records, cursor, False
    return records, cursor, True
