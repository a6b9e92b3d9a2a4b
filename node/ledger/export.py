"""Reading a node's stored records out in resumable, bounded pages (ExportRecords, `hashnode export`).

Records are read in store order (their ordinal: the order this node stored them, which only grows), so a
cursor is simply the next ordinal to read. A page is read in its own short read transaction: a long export
never pins an old LMDB snapshot, and records stored while an export runs are picked up by it, after the ones
before them. A record whose status changes during an export is shown as it is when its page is read.

A page is bounded both in records and in bytes, so that a page always fits in one gRPC message whatever the
records' metadata.

The change feed (`Selection.changes`) reads the store's `changes` table instead: a record once when it was stored
and again whenever its status or its due-process history changed since, each time as it stands when its page is
read, so that a mirror that remembers the cursor learns of a retraction, an overturn or a new opinion at its next
fetch. The cursor is then a feed position. A page lists a record once however often it changed within the page.

With `Selection.opinions`, a page also carries each record's opinions: every other member's latest stance on it
(node/dueprocess/policy.py `latest_stances`), what exchanges show as endorsements and false-positive reports.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from node.core.errors import InvalidArgument
from node.dueprocess.items import Stance
from node.dueprocess.policy import RecordFacts, latest_stances
from node.ledger import standing
from node.ledger.ledger import StoredRecord
from node.storage.store import MATCHING, RecordRow, Store, Txn

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
    changes: bool = False  # read the change feed (every record again at each change); implies include_inactive
    opinions: bool = False  # also each record's opinions

    def admits(self, row: RecordRow) -> bool:
        if self.author is not None and row.author != self.author:
            return False
        if not (self.include_inactive or self.changes) and row.status not in MATCHING:
            return False
        return not self.signal_types or row.record.signal_type in self.signal_types


@dataclass(frozen=True)
class Opinion:
    """A member's latest opinion on a record."""

    member: str
    stance: Stance
    timestamp_ms: int


@dataclass(frozen=True)
class ExportPage:
    """Records of one page and the cursor after it (pass it back to resume); with `Selection.opinions`, the
    opinions on the page's records that have any, by record id."""

    records: list[StoredRecord]
    next_cursor: int
    opinions: dict[bytes, list[Opinion]] = field(default_factory=dict)


def export_pages(
    store: Store, selection: Selection, *, after_cursor: int = 0, batch_size: int = DEFAULT_BATCH
) -> Iterator[ExportPage]:
    """Pages of selected records from `after_cursor` to the end of the store (or of the change feed).

    Every page holds at least one record except the last, which may be empty: it still carries the final
    cursor, so a caller that resumes later does not rescan what was filtered out. At least one page is
    yielded.

    Raises:
        InvalidArgument: a change-feed cursor beyond the feed's end (one this store never gave out).
    """
    if selection.changes:
        with store.read() as txn:
            end = store.feed_end(txn)
        if after_cursor > end:
            raise InvalidArgument(
                "after_cursor",
                after_cursor,
                f"at most {end}, the end of this node's change feed (a cursor of a store since restored or "
                "replaced: fetch again from 0)",
            )
    cursor, yielded_cursor = after_cursor, None
    while True:
        page, exhausted = _read_page(store, selection, cursor, batch_size)
        cursor = page.next_cursor
        if page.records or (exhausted and cursor != yielded_cursor):
            yield page
            yielded_cursor = cursor
        if exhausted:
            return


def _read_page(store: Store, selection: Selection, cursor: int, batch_size: int) -> tuple[ExportPage, bool]:
    """Up to `batch_size` selected records from `cursor`: (the page, whether the store or feed ended)."""
    records: list[StoredRecord] = []
    rows: list[RecordRow] = []
    size, scanned = 0, 0
    with store.read() as txn:
        for position, row in _rows(store, txn, selection, cursor):
            cursor = position + 1
            scanned += 1
            if row is not None and selection.admits(row):
                rows.append(row)
                records.append(StoredRecord.from_row(row))
                size += len(row.item) + _ROW_OVERHEAD
            if len(records) >= batch_size or size >= MAX_PAGE_BYTES or scanned >= batch_size * _SCAN_FACTOR:
                return _page(store, txn, selection, records, rows, cursor), False
        return _page(store, txn, selection, records, rows, cursor), True


def _rows(store: Store, txn: Txn, selection: Selection, cursor: int) -> Iterator[tuple[int, RecordRow | None]]:
    """(position, row) from `cursor`: records in store order, or the change feed's records, each once (a
    record that changes again later in the same page is shown once, as it stands now)."""
    if not selection.changes:
        for row in store.records_from(txn, cursor):
            yield row.ordinal, row
        return
    seen: set[int] = set()
    for position, ordinal in store.changes_from(txn, cursor):
        fresh = ordinal not in seen
        seen.add(ordinal)
        yield position, store.record(txn, ordinal) if fresh else None


def _page(
    store: Store, txn: Txn, selection: Selection, records: list[StoredRecord], rows: list[RecordRow], cursor: int
) -> ExportPage:
    if not selection.opinions:
        return ExportPage(records, cursor)
    opinions = {}
    for stored, row in zip(records, rows, strict=True):
        found = record_opinions(store, txn, row)
        if found:
            opinions[stored.record_id] = found
    return ExportPage(records, cursor, opinions)


def record_opinions(store: Store, txn: Txn, row: RecordRow) -> list[Opinion]:
    """Every other member's latest opinion on the record, oldest first."""
    rid = standing.row_record_id(row)
    if not store.related(txn, rid):  # most records: nothing was ever said about them
        return []
    history = standing.history(store, txn, rid)
    # Who holds which role does not change whose opinion counts: every member's but the contributor's.
    facts = RecordFacts(rid, row.author, (), ())
    stances = latest_stances(facts, history.opinions)
    return sorted(
        (Opinion(member, stance, at) for member, (stance, at) in stances.items()),
        key=lambda o: (o.timestamp_ms, o.member),
    )
