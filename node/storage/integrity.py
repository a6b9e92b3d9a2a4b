"""An offline consistency check of a node's store: every log walked, every derived table compared with it.

What a crash or a fault must never leave behind, checked from the bytes stored (not from the counters that
summarise them):

* each author's log is a contiguous chain: seq 1..h with no hole and nothing after h, each entry stored under
  the id of its own header bytes, each `prev` naming the entry before, the head row naming entry h (seq, id,
  timestamp), and (with a membership) each signature verifying under the author's key;
* each contribution's records are stored under their record ids, at their leaf index, with their item bytes;
* the counters (`entries`, `records`) and the `pdq` table (what the index is built from) agree with the
  records' statuses;
* the change feed has no gap, and lists every stored record and nothing else.

Run it on a store no process is writing (a stopped node, or a copy): it reads one snapshot, so on a live store
it is still consistent, but slow for a large one (it decodes every entry).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from node.core.entry import ZERO_ID, Entry, EntryKind
from node.core.errors import HashnodeError
from node.core.records import record_id
from node.index.video import video_rows
from node.membership.members import Membership
from node.storage.store import MATCHING, Store, Txn

MAX_PROBLEMS = 100  # a badly damaged store would otherwise produce one line per entry


@dataclass
class IntegrityReport:
    """What `check_store` found: sizes, and every problem (empty when the store is consistent)."""

    authors: int = 0
    entries: int = 0
    records: int = 0
    active_records: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, text: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)

    def summary(self) -> str:
        sizes = f"{self.authors} logs, {self.entries} entries, {self.records} records"
        sizes += f" ({self.active_records} active)"
        if self.ok:
            return f"consistent: {sizes}"
        return f"{len(self.problems)} problem(s) in {sizes}: " + "; ".join(self.problems[:5])


def check_store(store: Store, membership: Membership | None = None) -> IntegrityReport:
    """Checks one read snapshot of `store`; with `membership`, every entry's signature too."""
    report = IntegrityReport()
    with store.read() as txn:
        heads = store.heads(txn)
        report.authors = len(heads)
        for author in sorted(heads):
            _check_log(store, txn, author, membership, report)
        _check_records(store, txn, report)
        _check_changes(store, txn, report)
        counts = store.counts(txn)
    if counts.get("entries", 0) != report.entries:
        report.problem(f"counter entries = {counts.get('entries', 0)}, but the logs hold {report.entries}")
    if counts.get("records", 0) != report.active_records:
        report.problem(
            f"counter records = {counts.get('records', 0)}, but {report.active_records} are active"
        )
    return report


def _check_log(
    store: Store, txn: Txn, author: str, membership: Membership | None, report: IntegrityReport
) -> None:
    head = store.head(txn, author)
    assert head is not None  # listed by heads()
    prev, last_timestamp = ZERO_ID, 0
    for seq in range(1, head.seq + 1):
        where = f"log of {author} at seq {seq}"
        entry_id = store.entry_id_at(txn, author, seq)
        if entry_id is None:
            report.problem(f"{where}: missing (head says seq {head.seq})")
            return
        try:
            entry = store.entry(txn, entry_id)
        except HashnodeError as exc:
            report.problem(f"{where}: stored entry does not decode: {exc.diagnostics()}")
            return
        if entry is None:
            report.problem(f"{where}: names entry {entry_id.hex()[:16]}… which is not stored")
            return
        header = entry.header
        if entry.entry_id != entry_id:
            report.problem(
                f"{where}: stored under {entry_id.hex()[:16]}… but its header hashes to another id"
            )
        if (header.author, header.seq) != (author, seq):
            report.problem(f"{where}: the entry says {header.author} seq {header.seq}")
        if header.prev != prev:
            report.problem(f"{where}: prev does not name the entry at seq {seq - 1}")
        if membership is not None:
            _check_signature(entry, membership, where, report)
        prev, last_timestamp = entry_id, header.timestamp_ms
        report.entries += 1
        if entry.kind == EntryKind.CONTRIBUTION:
            _check_contribution(store, txn, entry_id, entry.items, where, report)
    if store.entry_id_at(txn, author, head.seq + 1) is not None:
        report.problem(f"log of {author}: holds seq {head.seq + 1}, after its head")
    if (head.entry_id, head.timestamp_ms) != (prev, last_timestamp):
        report.problem(f"log of {author}: head row does not match entry seq {head.seq}")


def _check_signature(entry: Entry, membership: Membership, where: str, report: IntegrityReport) -> None:
    header = entry.header
    try:
        entry.verify(membership.signing_key(header.author, header.key_id, header.timestamp_ms))
    except HashnodeError as exc:
        report.problem(f"{where}: signature: {exc.diagnostics()}")


def _check_contribution(
    store: Store, txn: Txn, entry_id: bytes, items: tuple[bytes, ...], where: str, report: IntegrityReport
) -> None:
    for index, item in enumerate(items):
        ordinal = store.ordinal(txn, record_id(entry_id, index))
        row = None if ordinal is None else store.record(txn, ordinal)
        if row is None:
            report.problem(f"{where}: record {index} is not stored")
        elif (row.entry_id, row.index, row.item) != (entry_id, index, item):
            report.problem(f"{where}: record {index} is stored with other bytes or another position")


def _check_records(store: Store, txn: Txn, report: IntegrityReport) -> None:
    """Every record row decodes; the `pdq` table lists exactly the active PDQ records, the `frames` table exactly
    the frames of the active vpdq records."""
    pdq = dict(store.iter_pdq(txn))
    frames = dict(store.iter_frames(txn))
    for row in store.records_from(txn, 0):
        report.records += 1
        try:
            record = row.record
        except HashnodeError as exc:
            report.problem(f"record ordinal {row.ordinal}: does not decode: {exc.diagnostics()}")
            continue
        active = row.status in MATCHING
        report.active_records += active
        listed = pdq.pop(_key(row.ordinal), None)
        if record.signal_type == "pdq" and active and listed != record.value:
            report.problem(f"record ordinal {row.ordinal}: active PDQ record missing from the index table")
        elif listed is not None and not (record.signal_type == "pdq" and active):
            report.problem(f"record ordinal {row.ordinal}: in the index table but not an active PDQ record")
        if record.signal_type == "vpdq" and active:
            keys, hashes = video_rows(row.ordinal, record.value)
            listed_frames = [frames.pop(_key(key), None) for key in keys.tolist()]
            if listed_frames != [bytes(h) for h in hashes]:
                report.problem(f"record ordinal {row.ordinal}: frames of an active vpdq record not in the frames table")
    if pdq:
        report.problem(f"the index table lists {len(pdq)} ordinals with no record")
    if frames:
        report.problem(f"the frames table lists {len(frames)} frames of no active vpdq record")


def _check_changes(store: Store, txn: Txn, report: IntegrityReport) -> None:
    """The change feed has no gap, names only stored records, and names every record (a reader following it
    would otherwise miss one)."""
    stored = bytearray()  # one bit per ordinal: a store's ordinals are dense from 0
    for row in store.records_from(txn, 0):
        if row.ordinal >> 3 >= len(stored):
            stored.extend(bytes((row.ordinal >> 3) + 1 - len(stored)))
        stored[row.ordinal >> 3] |= 1 << (row.ordinal & 7)
    listed = bytearray(len(stored))
    expected, unknown = None, 0
    for position, ordinal in store.changes_from(txn, 0):
        if expected is not None and position != expected:
            report.problem(f"change feed: position {position} follows {expected - 1}")
        expected = position + 1
        if ordinal >> 3 < len(stored) and stored[ordinal >> 3] & (1 << (ordinal & 7)):
            listed[ordinal >> 3] |= 1 << (ordinal & 7)
        else:
            unknown += 1
    if unknown:
        report.problem(f"change feed: {unknown} positions name no stored record")
    missing = sum(bin(held & ~seen).count("1") for held, seen in zip(stored, listed, strict=True))
    if missing:
        report.problem(f"change feed: {missing} records were never on it")


def _key(ordinal: int) -> bytes:
    return ordinal.to_bytes(8, "big")
