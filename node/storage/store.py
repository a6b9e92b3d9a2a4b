"""LMDB storage of signed entries, the records they carry, and the lookup tables matching needs.

One environment, named sub-databases, one writer at a time (LMDB's own write lock, plus a process-local lock so
threads queue instead of failing), any number of readers. An entry, its records, their index keys and every counter
change are committed in one write transaction: a crash leaves either all of it or none of it.

Layout (keys → values; integers big-endian):
  meta      b"schema" → b"1"; b"consortium" → id; b"next_ordinal" → u64; b"changes_base" → u64 (see changes)
  entries   entry id (32) → stored entry (see `_encode_entry`)
  logs      author (u16 len + UTF-8) ‖ seq u64 → entry id
  heads     author UTF-8 → seq u64 ‖ entry id (32) ‖ timestamp_ms u64
  records   ordinal u64 → entry id (32) ‖ index u32 ‖ seq u64 ‖ timestamp_ms u64 ‖ status u8 ‖ author ‖ record item
  rids      record id (32) → ordinal u64
  exact     signal type ‖ raw hash → ordinal u64 (dupsort); for vpdq the raw hash is SHA-256 of the record's
            encoded features (the features themselves are too long for an LMDB key)
  pdq       ordinal u64 → raw PDQ hash (32) of every active PDQ record: what the index is built from
  frames    frame key u64 → raw PDQ hash (32) of each distinct usable frame of every active vpdq record (key:
            node/index/video.py `frame_keys`, the record's ordinal and the frame's rank): indexed with the pdq rows
  related   record id (32) → entry id (32) (dupsort): retractions, opinions, appeals, decisions about the record
  counts    name → u64 (records, entries, type:<t>, label:<l>, author:<a>)
  state     free-form keys of other components (replication positions), written in the same transactions
  arrivals  entry id (32) → u64 local time the entry was first committed here (availability in reports)
  matchlog, matchlog_runs, notices: the local match log and reinstatement notices (matchlog_rec, matchlog_ref: its
            per-hit indexes in stores written by earlier versions, read and pruned only)
            (layouts in node/storage/matchlog.py)
  statements, statement_keys: the statements of reasons this node issued, by number, id, puid and record
            (layouts in node/storage/statements.py)
  submissions, submissions_by_time: this member's submissions by client request id, answered again to a retry
            (layouts in node/storage/submissions.py)
  evidence  evidence id (32) → author (u16 len + UTF-8) ‖ lower entry (u32 len + stored entry) ‖ upper entry
            (same): fork evidence, two entries of one author that cannot both be in its log
  rosters   version u64 → signed roster file (JSON, node/membership/roster.py) of every roster version this node trusts,
            from its pinned root on (node/ledger/consortium.py)
  changes   feed position u64 → ordinal u64: the change feed, a record's ordinal appended when it is stored and
            again whenever its status changes or an entry about it arrives, so that a reader that remembers its
            position learns every change since (ExportRecords with `changes`). Positions below `changes_base`
            are the ordinals of the records stored before the feed existed (an older store opened by this
            version), read from `records`; the table holds the positions from `changes_base` on.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import lmdb

try:  # the compiled reading of matched rows (setup.py); without it, the same in Python
    from node.storage._rowscan import scan as compiled_scan
except ImportError:  # pragma: no cover - depends on the build
    compiled_scan = None  # type: ignore[assignment]

from node.core.canonical import Reader, Writer
from node.core.entry import Entry
from node.core.errors import DataCorruption, EncodingError, HashnodeError, ResourceExhausted, StorageError
from node.core.private_files import PRIVATE_MODE, private_directory, restrict
from node.core.records import RECORD_ID_TAG, HashRecord, item_labels
from node.index.video import FRAME_KEY_FLAG, RANK_BITS, video_rows

SCHEMA = b"1"
DEFAULT_MAP_SIZE = 64 << 30  # address space only; the file grows with the data. 10M records need ~6 GiB.
_U64 = struct.Struct(">Q")
MAX_U64 = (1 << 64) - 1
LOW_DISK_BYTES = 1 << 20  # less free space than this on the store's file system is "disk full"
_ROW = struct.Struct(">32sIQQBH")
_STATUS_AT = 52  # offset of the status byte in an encoded row
_TIMESTAMP = struct.Struct(">Q")  # at offset 44
_AUTHOR_SIZE = struct.Struct(">H")  # at offset 53
_DBS = (
    "meta", "entries", "logs", "heads", "records", "rids", "exact", "pdq", "frames", "related", "counts", "state",
    "evidence",
    # Due process (docs/due-process.md): local arrival times, the match log and its indexes, notices.
    "arrivals", "matchlog", "matchlog_rec", "matchlog_ref", "matchlog_qid", "matchlog_runs", "notices",
    # Membership (docs/membership.md): the trusted roster chain.
    "rosters",
    # PDQ index snapshots (node/storage/pdq_snapshot.py): status changes of PDQ records, replayed over a snapshot.
    "pdqlog",
    # The change feed of records (ExportRecords with `changes`).
    "changes",
    # Statements of reasons this node issued (node/storage/statements.py).
    "statements", "statement_keys",
    # This member's submissions by client request id, for idempotent retries (node/storage/submissions.py).
    "submissions", "submissions_by_time",
)
_DUPSORT = ("exact", "related", "matchlog_rec", "matchlog_ref")
TABLES = _DBS  # every table of the store (node/storage/integrity.py reads each)
ROW_FIXED = _ROW.size  # bytes of a record row before its contributor
STATUS_AT = _STATUS_AT

Txn = Any  # lmdb.Transaction; the lmdb package ships no type information


class ActiveHits(NamedTuple):
    """The active records among those a match hit (`Store.active_hits`), by columns, in the order asked."""

    positions: list[int]  # in the ordinals asked
    rows: list[bytes]  # encoded (`RecordRow.encode`)
    record_ids: list[bytes]
    authors: list[bytes]  # the contributor, UTF-8
    label_sections: list[bytes]  # as stored (`records.item_labels`)


def _scan_rows(rows: list[bytes | None]) -> ActiveHits:
    """`active_hits`'s reading of the rows in Python, where node/storage/_rowscan.c is not built (it does the
    same in C)."""
    found = ActiveHits([], [], [], [], [])
    sha256 = hashlib.sha256
    for at, row in enumerate(rows):
        if row is None or len(row) <= _STATUS_AT or row[_STATUS_AT] not in MATCHING:
            continue
        if len(row) < _ROW.size:
            raise EncodingError(f"record row: truncated at byte {len(row)}")
        end = _ROW.size + (row[53] << 8 | row[54])
        if end > len(row):
            raise EncodingError(f"record row: truncated at byte {len(row)}, needed {end - len(row)} more")
        found.positions.append(at)
        found.rows.append(row)
        # The row starts with the entry id and the index, what the record id is the hash of.
        found.record_ids.append(sha256(RECORD_ID_TAG + row[:36]).digest())
        found.authors.append(row[_ROW.size : end])
        found.label_sections.append(item_labels(row, end))
    return found


class Status:
    """Record status codes as stored (u8)."""

    ACTIVE = 1
    RETRACTED = 2
    OVERTURNED = 3
    SUSPENDED = 4
    DISPUTED = 5  # an open dispute case, quarantined in `mark` mode: still matches, every hit marked


# The statuses of records that match: listed in the `pdq` table and counted as active.
MATCHING = frozenset({Status.ACTIVE, Status.DISPUTED})
# Every status a row can hold: any other byte there is damage.
STATUSES = frozenset({Status.ACTIVE, Status.RETRACTED, Status.OVERTURNED, Status.SUSPENDED, Status.DISPUTED})


@dataclass(frozen=True)
class Head:
    seq: int
    entry_id: bytes
    timestamp_ms: int


@dataclass(frozen=True)
class RecordRow:
    ordinal: int
    entry_id: bytes
    index: int
    seq: int
    timestamp_ms: int
    status: int
    author: str
    item: bytes

    def encode(self) -> bytes:
        # entry id 32 ‖ index u32 ‖ seq u64 ‖ timestamp u64 ‖ status u8 ‖ author (u16 len + UTF-8) ‖ item
        author = self.author.encode("utf-8")
        fixed = _ROW.pack(self.entry_id, self.index, self.seq, self.timestamp_ms, self.status, len(author))
        return fixed + author + self.item

    @classmethod
    def decode(cls, ordinal: int, data: bytes) -> RecordRow:
        """Decodes a stored row (rows are only ever read from the store: a malformed one is damage).

        Raises:
            DataCorruption: the row is truncated, its author is not UTF-8 or its status is unknown.
        """
        # One struct read instead of a field-by-field Reader: every match hit decodes its row.
        where = f"ordinal {ordinal}"
        if len(data) < _ROW.size:
            raise DataCorruption("records", where, f"row truncated at byte {len(data)}, want {_ROW.size} or more")
        entry_id, index, seq, ts, status, size = _ROW.unpack_from(data)
        end = _ROW.size + size
        if end > len(data):
            raise DataCorruption("records", where, f"row truncated at byte {len(data)}, needed {end - len(data)} more")
        if status not in STATUSES:
            raise DataCorruption("records", where, f"status byte {status} is no status")
        try:
            author = data[_ROW.size : end].decode("utf-8")
        except UnicodeDecodeError:
            raise DataCorruption("records", where, "the contributor is not UTF-8") from None
        return cls(ordinal, entry_id, index, seq, ts, status, author, data[end:])

    @property
    def record(self) -> HashRecord:
        """The record item, decoded. Raises DataCorruption: it does not decode."""
        try:
            return HashRecord.decode(self.item)
        except EncodingError as exc:
            raise DataCorruption("records", f"ordinal {self.ordinal}", exc.diagnostics()) from None


def row_status(data: bytes) -> int:
    """The status byte of an encoded row (`RecordRow.encode`), read without decoding the row."""
    return data[_STATUS_AT]


def is_disputed_row(data: bytes) -> bool:
    """Whether an encoded row's record has an open dispute case (status DISPUTED); False for no row."""
    return len(data) > _STATUS_AT and data[_STATUS_AT] == Status.DISPUTED


def row_timestamp_ms(data: bytes) -> int:
    """The signed timestamp of the entry holding the record of an encoded row."""
    return int(_TIMESTAMP.unpack_from(data, 44)[0])


@dataclass(frozen=True)
class Arrival:
    """When an entry reached this node, and what a report needs of the entry."""

    arrived_ms: int
    signed_ms: int
    kind: int
    author: str


@dataclass(frozen=True)
class NewRecord:
    """A record to be committed with its entry."""

    record_id: bytes
    index: int
    record: HashRecord
    item: bytes


def u64(value: int) -> bytes:
    return _U64.pack(value)


def read_u64(data: bytes) -> int:
    return int(_U64.unpack(data)[0])


def log_key(author: str, seq: int) -> bytes:
    return Writer().string(author).u64(seq).getvalue()


def _frame_rows(ordinal: int, value: bytes) -> list[tuple[bytes, bytes]]:
    """The frames table's rows of a vpdq record: (frame key, hash) of each distinct usable frame."""
    keys, hashes = video_rows(ordinal, value)
    return [(u64(key), bytes(row)) for key, row in zip(keys.tolist(), hashes, strict=True)]


def exact_key(signal_type: str, value: bytes) -> bytes:
    name = signal_type.encode()
    if signal_type == "vpdq":
        value = hashlib.sha256(value).digest()
    return len(name).to_bytes(2, "big") + name + value


def _encode_entry(entry: Entry) -> bytes:
    writer = Writer().blob(entry.header_bytes).fixed(entry.signature, 64).u32(len(entry.items))
    for item in entry.items:
        writer.blob(item)
    return writer.getvalue()


def _decode_entry(data: bytes, entry_id: bytes = b"") -> Entry:
    """A stored entry (`_encode_entry`). Raises DataCorruption: it does not decode, or (with `entry_id`) it is
    not the entry stored under that id."""
    try:
        reader = Reader(data, "stored entry")
        header, signature = reader.blob(), reader.fixed(64)
        items = [reader.blob() for _ in range(reader.u32())]
        reader.end()
        entry = Entry.parse(header, signature, items)
    except HashnodeError as exc:
        raise DataCorruption("entries", entry_id.hex()[:16], exc.diagnostics()) from None
    if entry_id and entry.entry_id != entry_id:
        raise DataCorruption("entries", entry_id.hex()[:16], "the entry stored there has another id")
    return entry


def _decode_evidence(data: bytes) -> tuple[str, Entry, Entry]:
    try:
        reader = Reader(data, "stored evidence")
        author, lower, upper = reader.string(), _decode_entry(reader.blob()), _decode_entry(reader.blob())
        reader.end()
    except HashnodeError as exc:
        raise DataCorruption("evidence", "", exc.diagnostics()) from None
    return author, lower, upper


# LMDB's own errors while reading: the pages are damaged (a healthy store never raises them). Others (readers
# full, a map resized) are the environment's and stay StorageError.
_DAMAGE_ERRORS = (
    lmdb.CorruptedError, lmdb.PageNotFoundError, lmdb.BadValsizeError, lmdb.CursorFullError, lmdb.PanicError,
    lmdb.InvalidError, lmdb.PageFullError, lmdb.BadDbiError, lmdb.IncompatibleError, lmdb.BadChecksumError,
    lmdb.BadTxnError,  # a transaction that met one of the above is left unusable
)


def damage(exc: BaseException, table: str = "", key: str = "") -> DataCorruption:
    """The DataCorruption an error raised while reading stored bytes stands for."""
    if isinstance(exc, DataCorruption):
        return exc
    what = exc.diagnostics() if isinstance(exc, HashnodeError) else f"{type(exc).__name__}: {exc}"
    return DataCorruption(table or "a table", key, what)


class Store:
    """The node's LMDB environment and the operations on it."""

    def __init__(self, env: lmdb.Environment, *, readonly: bool = False) -> None:
        self._env = env
        self.readonly = readonly
        self._dbs = {name: self._open_db(name) for name in _DBS}
        self._write_lock = threading.Lock()
        # Told of every DataCorruption a transaction of this store raised (metrics, health): `on_damage`.
        self._damage_listeners: list[Callable[[DataCorruption], None]] = []
        self._damage_found: list[DataCorruption] = []
        self._damage_lock = threading.Lock()

    def _open_db(self, name: str) -> Any:
        dupsort = name in _DUPSORT
        if not self.readonly:
            return self._env.open_db(name.encode(), dupsort=dupsort)
        try:  # a read-only environment cannot create a table an older version did not have: it reads as empty
            return self._env.open_db(name.encode(), dupsort=dupsort, create=False)
        except lmdb.NotFoundError:
            return None

    def on_damage(self, listener: Callable[[DataCorruption], None]) -> None:
        """Calls `listener` with each DataCorruption a read or write transaction of this store raises (or
        `report_damage` reports), those found before it was registered included."""
        with self._damage_lock:
            self._damage_listeners.append(listener)
            found = list(self._damage_found)
        for exc in found:
            listener(exc)

    def report_damage(self, exc: DataCorruption) -> None:
        """Reports damage found outside this store's transactions (the start-up check run beside a serving
        node) to the `on_damage` listeners, as damage a read met."""
        self._damaged(exc)

    def _damaged(self, exc: BaseException) -> DataCorruption:
        found = damage(exc)
        if not getattr(found, "reported", False):
            found.reported = True  # type: ignore[attr-defined]  # nested transactions report it once
            with self._damage_lock:
                self._damage_found = [*self._damage_found[-9:], found]  # the last few, for listeners to come
                listeners = list(self._damage_listeners)
            for listener in listeners:
                listener(found)
        return found

    @classmethod
    def open(cls, path: Path, *, map_size: int = DEFAULT_MAP_SIZE, consortium_id: str) -> Store:
        """Opens or creates the store; refuses a store of another consortium or schema, and a data file that is
        empty, truncated or not a hashnode store (it is left exactly as it was: nothing is written to it).

        A store is created only where there is no data file yet, in a directory created 0700 and files 0600 (it
        holds the match log: what the platform's content matched).
        """
        private_directory(path)
        data_file = path / "data.mdb"
        existing = data_file.exists()
        if existing and data_file.stat().st_size == 0:
            raise StorageError(f"{data_file} is empty, not a store; a new store is created only where none is")
        try:
            env = lmdb.open(
                str(path), map_size=map_size, max_dbs=len(_DBS) + 4, subdir=True, max_readers=512, mode=PRIVATE_MODE
            )
        except lmdb.Error as exc:
            raise StorageError(f"cannot open the store at {path}: {exc}") from exc
        try:
            if existing:
                _check_data_file(env, data_file)
            store = cls(env)
            store._check_identity(consortium_id, path)
        except BaseException:
            env.close()
            raise
        return store

    @classmethod
    def open_readonly(cls, path: Path) -> Store:
        """Opens an existing store for reading only, writing nothing (not even a lock file where none can be
        written: a read-only file system or copy). For offline checks: nothing may be writing to it.

        Raises:
            StorageError: there is no store at `path`, or it cannot be opened.
        """
        data_file = path / "data.mdb"
        if not data_file.is_file() or data_file.stat().st_size == 0:
            raise StorageError(f"no store at {path}")
        options: dict[str, Any] = {"readonly": True, "subdir": True, "max_dbs": len(_DBS) + 4, "max_readers": 512}
        try:
            try:
                env = lmdb.open(str(path), **options)
            except lmdb.Error:  # the lock file cannot be created or opened: read without it
                env = lmdb.open(str(path), lock=False, **options)
        except lmdb.Error as exc:
            raise StorageError(f"cannot open the store at {path}: {exc}") from exc
        try:
            _check_data_file(env, data_file)
            return cls(env, readonly=True)
        except HashnodeError:
            env.close()
            raise
        except lmdb.Error as exc:
            env.close()
            raise damage(exc, "the table list") from None

    def _check_identity(self, consortium_id: str, path: Path) -> None:
        with self.write() as txn:
            meta = self._dbs["meta"]
            schema = txn.get(b"schema", db=meta)
            if schema is None:
                txn.put(b"schema", SCHEMA, db=meta)
                txn.put(b"consortium", consortium_id.encode(), db=meta)
            if txn.get(b"changes_base", db=meta) is None:
                # A new store starts its feed at 0; an older one serves its records stored so far as the feed's
                # first positions (`changes`), so no reader misses them and nothing is rewritten.
                txn.put(b"changes_base", txn.get(b"next_ordinal", db=meta) or u64(0), db=meta)
            if schema is None:
                return
        if schema != SCHEMA:
            raise StorageError(f"the store at {path} has schema {schema!r}; this version reads {SCHEMA!r}")
        with self.read() as txn:
            stored = bytes(txn.get(b"consortium", db=meta) or b"").decode()
        if stored != consortium_id:
            raise StorageError(f"the store at {path} belongs to consortium {stored!r}, not {consortium_id!r}")

    def close(self) -> None:
        self._env.close()

    @property
    def path(self) -> Path:
        """The store's directory."""
        return Path(self._env.path())

    def db(self, name: str) -> Any:
        return self._dbs[name]

    @contextlib.contextmanager
    def read(self) -> Iterator[Txn]:
        """A read transaction (one snapshot). Damage met inside it (LMDB's errors for broken pages, or a
        DataCorruption of a decoder) is raised as DataCorruption and reported to the `on_damage` listeners."""
        try:
            with self._env.begin(buffers=False) as txn:
                yield txn
        except (DataCorruption, *_DAMAGE_ERRORS) as exc:
            raise self._damaged(exc) from None

    @contextlib.contextmanager
    def write(self) -> Iterator[Txn]:
        """A write transaction: committed when the block ends, aborted on any exception."""
        with self._write_lock:
            try:
                with self._env.begin(write=True) as txn:
                    yield txn
            except (DataCorruption, *_DAMAGE_ERRORS) as exc:
                raise self._damaged(exc) from None
            except lmdb.MapFullError as exc:
                raise ResourceExhausted("storage map is full: raise storage.map_size_mib and restart") from exc
            except lmdb.DiskError as exc:  # ENOSPC, EDQUOT: the transaction was aborted, the store is intact
                raise ResourceExhausted(f"no space left for the store ({exc}): free disk space") from exc
            except lmdb.Error as exc:
                # LMDB reports a short write as EIO ("filesystem full?"): say which it was.
                if self._disk_full():
                    raise ResourceExhausted(f"no space left for the store ({exc}): free disk space") from exc
                raise StorageError(f"the store could not write: {exc}") from exc

    def _disk_full(self) -> bool:
        stat = os.statvfs(self._env.path())
        return stat.f_bavail * stat.f_frsize < LOW_DISK_BYTES

    # --- logs -------------------------------------------------------------------------------------------------

    def head(self, txn: Txn, author: str) -> Head | None:
        value = txn.get(author.encode(), db=self._dbs["heads"])
        return None if value is None else _decode_head(author.encode(), value)

    def heads(self, txn: Txn) -> dict[str, Head]:
        result = {}
        for key, value in txn.cursor(db=self._dbs["heads"]):
            try:
                author = bytes(key).decode()
            except UnicodeDecodeError:
                raise DataCorruption("heads", bytes(key).hex(), "the author is not UTF-8") from None
            result[author] = _decode_head(key, value)
        return result

    def entry(self, txn: Txn, entry_id: bytes) -> Entry | None:
        value = txn.get(entry_id, db=self._dbs["entries"])
        return None if value is None else _decode_entry(value, entry_id)

    def entry_id_at(self, txn: Txn, author: str, seq: int) -> bytes | None:
        value = txn.get(log_key(author, seq), db=self._dbs["logs"])
        return None if value is None else bytes(value)

    def log(self, txn: Txn, author: str, from_seq: int, to_seq: int = 0) -> Iterator[Entry]:
        """Entries of `author` with from_seq <= seq (<= to_seq unless 0), in order."""
        prefix = Writer().string(author).getvalue()
        cursor = txn.cursor(db=self._dbs["logs"])
        if not cursor.set_range(log_key(author, from_seq)):
            return
        for key, entry_id in cursor:
            if not key.startswith(prefix) or len(key) != len(prefix) + 8:
                return
            if to_seq and read_u64(key[len(prefix) :]) > to_seq:
                return
            found = self.entry(txn, bytes(entry_id))
            if found is None:
                raise StorageError(f"log of {author} names a missing entry {bytes(entry_id).hex()}")
            yield found

    def put_entry(self, txn: Txn, entry: Entry) -> None:
        """Stores an entry and advances its author's head. The caller has validated chain continuity."""
        header = entry.header
        txn.put(entry.entry_id, _encode_entry(entry), db=self._dbs["entries"])
        txn.put(log_key(header.author, header.seq), entry.entry_id, db=self._dbs["logs"])
        head = u64(header.seq) + entry.entry_id + u64(header.timestamp_ms)
        txn.put(header.author.encode(), head, db=self._dbs["heads"])
        self.bump(txn, "entries")

    def has_entry(self, txn: Txn, entry_id: bytes) -> bool:
        return txn.get(entry_id, db=self._dbs["entries"]) is not None

    # --- records ----------------------------------------------------------------------------------------------

    def _next_ordinal(self, txn: Txn, count: int) -> int:
        meta = self._dbs["meta"]
        value = txn.get(b"next_ordinal", db=meta)
        first = 0 if value is None else read_u64(value)
        txn.put(b"next_ordinal", u64(first + count), db=meta)
        return first

    def put_records(self, txn: Txn, entry: Entry, records: list[NewRecord]) -> list[int]:
        """Stores the records of a contribution entry; returns their ordinals (the index's keys)."""
        first = self._next_ordinal(txn, len(records))
        header = entry.header
        groups: dict[tuple[str, tuple[str, ...]], int] = {}  # (type, labels) -> records: counters per group
        rows, rids, exact, pdq, frames = [], [], [], [], []
        for offset, new in enumerate(records):
            key = u64(first + offset)
            row = RecordRow(
                first + offset, entry.entry_id, new.index, header.seq, header.timestamp_ms, Status.ACTIVE,
                header.author, new.item,
            )
            rows.append((key, row.encode()))
            rids.append((new.record_id, key))
            exact.append((exact_key(new.record.signal_type, new.record.value), key))
            if new.record.signal_type == "pdq":
                pdq.append((key, new.record.value))
            elif new.record.signal_type == "vpdq":
                frames.extend(_frame_rows(first + offset, new.record.value))
            group = (new.record.signal_type, new.record.labels)
            groups[group] = groups.get(group, 0) + 1
        counts: dict[str, int] = {}
        for (kind, labels), n in groups.items():
            for name in ("records", f"type:{kind}", f"author:{header.author}", *(f"label:{x}" for x in labels)):
                counts[name] = counts.get(name, 0) + n
        # Ordinals only grow, so the ordinal-keyed tables take appends (LMDB's fast path); so do feed positions.
        self._append_changes(txn, [key for key, _ in rows])
        txn.cursor(db=self._dbs["records"]).putmulti(rows, append=True)
        txn.cursor(db=self._dbs["pdq"]).putmulti(pdq, append=True)
        txn.cursor(db=self._dbs["frames"]).putmulti(frames, append=True)
        txn.cursor(db=self._dbs["rids"]).putmulti(rids)
        txn.cursor(db=self._dbs["exact"]).putmulti(exact)
        for name, delta in counts.items():
            self.bump(txn, name, delta)
        return list(range(first, first + len(records)))

    def ordinal(self, txn: Txn, record_id: bytes) -> int | None:
        value = txn.get(record_id, db=self._dbs["rids"])
        return None if value is None else read_u64(value)

    def record(self, txn: Txn, ordinal: int) -> RecordRow | None:
        value = txn.get(u64(ordinal), db=self._dbs["records"])
        return None if value is None else RecordRow.decode(ordinal, bytes(value))

    def active_hits(self, txn: Txn, ordinals: list[int]) -> ActiveHits:
        """The records at `ordinals` that are active, read for matching: by columns, each one's position in
        `ordinals`, encoded row, record id, contributor (UTF-8) and labels section as stored
        (`records.item_labels`), decoding nothing else.

        Every ordinal asked comes from a lookup table (the exact-hash table, the PDQ index): records are never
        deleted, so one with no row, a row that does not decode or a status byte that is no status is damage,
        never a miss.

        Raises:
            DataCorruption: a missing or malformed row.
        """
        get, db, pack = txn.get, self._dbs["records"], _U64.pack
        rows = [get(pack(ordinal), db=db) for ordinal in ordinals]
        try:
            if compiled_scan is None:
                found = _scan_rows(rows)
            else:
                positions, record_ids, authors, sections = compiled_scan(rows, RECORD_ID_TAG)
                found = ActiveHits(positions, [rows[at] for at in positions], record_ids, authors, sections)
        except (ValueError, EncodingError) as exc:
            raise DataCorruption("records", "", str(exc)) from None
        if len(found.positions) != len(rows):  # the rows that do not match: each must be a row of a known status
            for ordinal, row in zip(ordinals, rows, strict=True):
                if row is None:
                    raise DataCorruption("records", f"ordinal {ordinal}", "a lookup table names it, but no row")
                if len(row) <= _STATUS_AT or row[_STATUS_AT] not in STATUSES:
                    RecordRow.decode(ordinal, row)  # raises, saying what is wrong
        return found

    def has_related(self, txn: Txn, record_id: bytes) -> bool:
        """Whether anything was ever said about the record (a retraction, opinion, appeal or decision)."""
        return txn.get(record_id, db=self._dbs["related"]) is not None

    def records_from(self, txn: Txn, ordinal: int) -> Iterator[RecordRow]:
        """Stored records with an ordinal of at least `ordinal`, in ordinal (storage) order."""
        cursor = txn.cursor(db=self._dbs["records"])
        if not cursor.set_range(u64(ordinal)):
            return
        for key, value in cursor:
            yield RecordRow.decode(read_u64(key), bytes(value))

    def set_status(self, txn: Txn, row: RecordRow, status: int) -> None:
        """Changes a record's status; active-record counters follow."""
        if row.status == status:
            return
        updated = RecordRow(
            row.ordinal, row.entry_id, row.index, row.seq, row.timestamp_ms, status, row.author, row.item
        )
        txn.put(u64(row.ordinal), updated.encode(), db=self._dbs["records"])
        self._append_changes(txn, [u64(row.ordinal)])
        was, now = row.status in MATCHING, status in MATCHING
        if row.record.signal_type == "pdq" and was != now:
            # The pdq table lists matching records only: the index is built from it. The change is logged too, so
            # that a saved index snapshot can be brought up to date without a rebuild.
            if now:
                txn.put(u64(row.ordinal), row.record.value, db=self._dbs["pdq"])
            else:
                txn.delete(u64(row.ordinal), db=self._dbs["pdq"])
            self._log_pdq_change(txn, row.ordinal, active=now)
        elif row.record.signal_type == "vpdq" and was != now:
            # Likewise the frames table and a video's frames.
            for key, value in _frame_rows(row.ordinal, row.record.value):
                if now:
                    txn.put(key, value, db=self._dbs["frames"])
                else:
                    txn.delete(key, db=self._dbs["frames"])
            self._log_pdq_change(txn, row.ordinal, active=now)
        if was != now:
            counts: dict[str, int] = {}
            _tally(counts, row.record, row.author, +1 if now else -1)
            for name, delta in counts.items():
                self.bump(txn, name, delta)

    def exact(self, txn: Txn, signal_type: str, value: bytes) -> list[int]:
        cursor = txn.cursor(db=self._dbs["exact"])
        if not cursor.set_key(exact_key(signal_type, value)):
            return []
        return [read_u64(v) for v in cursor.iternext_dup()]

    def iter_pdq(self, txn: Txn, from_ordinal: int = 0) -> Iterator[tuple[bytes, bytes]]:
        """(ordinal key, raw hash) for every active PDQ record from `from_ordinal` on, in ordinal order."""
        cursor = txn.cursor(db=self._dbs["pdq"])
        if cursor.set_range(u64(from_ordinal)):
            yield from cursor

    def pdq_columns(self, txn: Txn, from_ordinal: int = 0, chunk: int = 1 << 16) -> Iterator[tuple[bytes, bytes]]:
        """`iter_pdq` by columns: (ordinal keys, raw hashes), each concatenated, `chunk` records at a time.

        LMDB's own iterators fill each chunk without a Python step per record: a rebuild of the index reads
        10M records in ~3.5 s this way, ~8.5 s record by record (bench/startup.py).
        """
        keys, values = txn.cursor(db=self._dbs["pdq"]), txn.cursor(db=self._dbs["pdq"])
        if not keys.set_range(u64(from_ordinal)):
            return
        values.set_range(u64(from_ordinal))
        key_iter, value_iter = keys.iternext(keys=True, values=False), values.iternext(keys=False, values=True)
        while ordinals := b"".join(itertools.islice(key_iter, chunk)):
            yield ordinals, b"".join(itertools.islice(value_iter, chunk))

    def pdq_count(self, txn: Txn) -> int:
        """Active PDQ records (entries of the pdq table)."""
        return int(txn.stat(self._dbs["pdq"])["entries"])

    def frame_columns(
        self, txn: Txn, from_ordinal: int = 0, chunk: int = 1 << 16
    ) -> Iterator[tuple[bytes, bytes]]:
        """`pdq_columns` of the frames table: (frame keys, raw hashes) of the active vpdq records' frames from
        the record at `from_ordinal` on."""
        start = u64(FRAME_KEY_FLAG | (from_ordinal << RANK_BITS))
        keys, values = txn.cursor(db=self._dbs["frames"]), txn.cursor(db=self._dbs["frames"])
        if not keys.set_range(start):
            return
        values.set_range(start)
        key_iter, value_iter = keys.iternext(keys=True, values=False), values.iternext(keys=False, values=True)
        while frame_keys := b"".join(itertools.islice(key_iter, chunk)):
            yield frame_keys, b"".join(itertools.islice(value_iter, chunk))

    def frame_count(self, txn: Txn) -> int:
        """Indexed frames of active vpdq records (entries of the frames table)."""
        return int(txn.stat(self._dbs["frames"])["entries"])

    def iter_frames(self, txn: Txn) -> Iterator[tuple[bytes, bytes]]:
        """(frame key, raw hash) of every row of the frames table, in key order."""
        cursor = txn.cursor(db=self._dbs["frames"])
        if cursor.first():
            yield from cursor

    def _log_pdq_change(self, txn: Txn, ordinal: int, *, active: bool) -> None:
        meta = self._dbs["meta"]
        value = txn.get(b"pdqlog_next", db=meta)
        seq = 0 if value is None else read_u64(value)
        txn.put(u64(seq), bytes([1 if active else 0]) + u64(ordinal), db=self._dbs["pdqlog"], append=True)
        txn.put(b"pdqlog_next", u64(seq + 1), db=meta)

    def pdq_watermark(self, txn: Txn) -> tuple[int, int]:
        """(next ordinal, next PDQ change number): what a snapshot of the PDQ index taken now covers."""
        meta = self._dbs["meta"]
        ordinal, changes = txn.get(b"next_ordinal", db=meta), txn.get(b"pdqlog_next", db=meta)
        return (0 if ordinal is None else read_u64(ordinal)), (0 if changes is None else read_u64(changes))

    def pdq_changes(self, txn: Txn, since: int) -> Iterator[tuple[int, bool]]:
        """(ordinal, now active) for every PDQ status change numbered `since` or later, in order."""
        cursor = txn.cursor(db=self._dbs["pdqlog"])
        if cursor.set_range(u64(since)):
            for _, value in cursor:
                yield read_u64(value[1:9]), value[0] == 1

    def add_related(self, txn: Txn, record_id: bytes, entry_id: bytes) -> None:
        """Relates an entry to a record; a stored record's history changed, so it goes on the change feed (one
        about a record not stored yet needs not: the record goes on it when it arrives, history and all)."""
        if txn.put(record_id, entry_id, db=self._dbs["related"], dupdata=False):
            ordinal = txn.get(record_id, db=self._dbs["rids"])
            if ordinal is not None:
                self._append_changes(txn, [bytes(ordinal)])

    # --- the change feed --------------------------------------------------------------------------------------

    def _append_changes(self, txn: Txn, ordinals: list[bytes]) -> None:
        if not ordinals:
            return
        first = self.feed_end(txn)
        rows = [(u64(first + offset), ordinal) for offset, ordinal in enumerate(ordinals)]
        txn.cursor(db=self._dbs["changes"]).putmulti(rows, append=True)

    def feed_end(self, txn: Txn) -> int:
        """The position the next change will take: every position before it has been written."""
        cursor = txn.cursor(db=self._dbs["changes"])
        if cursor.last():
            return read_u64(cursor.key()) + 1
        return self._changes_base(txn)

    def _changes_base(self, txn: Txn) -> int:
        value = txn.get(b"changes_base", db=self._dbs["meta"])
        return 0 if value is None else read_u64(value)

    def changes_from(self, txn: Txn, position: int) -> Iterator[tuple[int, int]]:
        """(feed position, record ordinal) from `position` on, in feed order; a record appears once per change.

        Positions below the feed's base are the records stored before the feed existed, in store order.
        """
        base = self._changes_base(txn)
        if position < base:
            for row in self.records_from(txn, position):
                if row.ordinal >= base:
                    break
                yield row.ordinal, row.ordinal
            position = base
        cursor = txn.cursor(db=self._dbs["changes"])
        if cursor.set_range(u64(position)):
            for key, value in cursor:
                yield read_u64(key), read_u64(value)

    def related(self, txn: Txn, record_id: bytes) -> list[bytes]:
        cursor = txn.cursor(db=self._dbs["related"])
        if not cursor.set_key(record_id):
            return []
        return [bytes(v) for v in cursor.iternext_dup()]

    # --- counters and state -----------------------------------------------------------------------------------

    def bump(self, txn: Txn, name: str, delta: int = 1) -> None:
        db = self._dbs["counts"]
        key = name.encode()
        value = txn.get(key, db=db)
        current = 0 if value is None else read_u64(value)
        updated = max(0, current + delta)
        if updated:
            txn.put(key, u64(updated), db=db)
        elif value is not None:
            txn.delete(key, db=db)

    def counts(self, txn: Txn) -> dict[str, int]:
        result = {}
        for key, value in txn.cursor(db=self._dbs["counts"]):
            if len(value) != 8:
                raise DataCorruption("counts", repr(bytes(key))[:60], f"a value of {len(value)} bytes, want 8")
            result[bytes(key).decode("utf-8", "replace")] = read_u64(value)
        return result

    def get_state(self, txn: Txn, key: bytes) -> bytes | None:
        value = txn.get(key, db=self._dbs["state"])
        return None if value is None else bytes(value)

    def put_state(self, txn: Txn, key: bytes, value: bytes) -> None:
        txn.put(key, value, db=self._dbs["state"])

    def delete_state(self, txn: Txn, key: bytes) -> None:
        txn.delete(key, db=self._dbs["state"])

    # --- arrivals (availability in transparency reports) ---------------------------------------------------

    def put_arrival(self, txn: Txn, entry: Entry, arrived_ms: int) -> None:
        """Notes when `entry` reached this node: arrived u64 ‖ signed timestamp u64 ‖ kind u16 ‖ author."""
        header = entry.header
        value = Writer().u64(arrived_ms).u64(header.timestamp_ms).u16(header.kind).string(header.author)
        txn.put(entry.entry_id, value.getvalue(), db=self._dbs["arrivals"], overwrite=False)

    def arrivals(self, txn: Txn) -> Iterator[Arrival]:
        for _, value in txn.cursor(db=self._dbs["arrivals"]):
            reader = Reader(bytes(value), "arrival")
            yield Arrival(reader.u64(), reader.u64(), reader.u16(), reader.string())

    # --- fork evidence --------------------------------------------------------------------------------------

    def put_evidence(self, txn: Txn, evidence_id: bytes, lower: Entry, upper: Entry) -> bool:
        """Keeps a pair of conflicting entries of one author; False when this evidence is already held."""
        value = Writer().string(lower.header.author).blob(_encode_entry(lower)).blob(_encode_entry(upper))
        return bool(txn.put(evidence_id, value.getvalue(), db=self._dbs["evidence"], overwrite=False))

    def evidence(self, txn: Txn, evidence_id: bytes) -> tuple[Entry, Entry] | None:
        value = txn.get(evidence_id, db=self._dbs["evidence"])
        return None if value is None else _decode_evidence(bytes(value))[1:]

    def iter_evidence(self, txn: Txn) -> Iterator[tuple[bytes, Entry, Entry]]:
        """(evidence id, lower entry, upper entry) of all evidence held, in id order."""
        for key, value in txn.cursor(db=self._dbs["evidence"]):
            _, lower, upper = _decode_evidence(bytes(value))
            yield bytes(key), lower, upper

    def evidence_ids(self, txn: Txn) -> list[bytes]:
        return [bytes(key) for key in txn.cursor(db=self._dbs["evidence"]).iternext(keys=True, values=False)]

    def convicted_authors(self, txn: Txn) -> set[str]:
        """Authors some held evidence proves to have forked their log."""
        values = txn.cursor(db=self._dbs["evidence"]).iternext(keys=False, values=True)
        return {Reader(bytes(value), "stored evidence").string() for value in values}

    def log_ids(self, txn: Txn, author: str) -> Iterator[bytes]:
        """Entry ids of `author`'s log in seq order, without decoding the entries."""
        prefix = Writer().string(author).getvalue()
        cursor = txn.cursor(db=self._dbs["logs"])
        if not cursor.set_range(prefix):
            return
        for key, entry_id in cursor:
            if not key.startswith(prefix) or len(key) != len(prefix) + 8:
                return
            yield bytes(entry_id)

    # --- rosters ----------------------------------------------------------------------------------------------

    def put_roster(self, txn: Txn, version: int, signed_roster: bytes) -> None:
        txn.put(u64(version), signed_roster, db=self._dbs["rosters"])

    def rosters(self, txn: Txn, after_version: int = 0) -> Iterator[tuple[int, bytes]]:
        """(version, signed roster file) of the stored rosters above `after_version`, oldest first."""
        cursor = txn.cursor(db=self._dbs["rosters"])
        if after_version >= MAX_U64 or not cursor.set_range(u64(after_version + 1)):
            return
        for key, value in cursor:
            yield read_u64(key), bytes(value)

    # --- operations -------------------------------------------------------------------------------------------

    def disk_bytes(self) -> int:
        path = Path(self._env.path())
        return sum(f.stat().st_size for f in path.iterdir() if f.is_file())

    def map_bytes(self) -> int:
        return int(self._env.info()["map_size"])

    def used_bytes(self) -> int:
        info, stat = self._env.info(), self._env.stat()
        return int((info["last_pgno"] + 1) * stat["psize"])

    def copy(self, target: Path) -> None:
        """A compacted, consistent copy taken while serving (LMDB copies from a read snapshot)."""
        private_directory(target)
        if any(target.iterdir()):
            raise StorageError(f"backup target {target} is not empty")
        self._env.copy(str(target), compact=True)
        restrict(target / "data.mdb")  # LMDB creates the copy 0666 less the umask

    def sync(self) -> None:
        self._env.sync(True)


def _decode_head(author: bytes, value: bytes) -> Head:
    if len(value) != 48:
        raise DataCorruption("heads", author.decode("utf-8", "replace"), f"a row of {len(value)} bytes, want 48")
    return Head(read_u64(value[:8]), bytes(value[8:40]), read_u64(value[40:48]))


def _check_data_file(env: lmdb.Environment, data_file: Path) -> None:
    """Refuses a data file shorter than the pages its last commit uses (reading past its end would kill the
    process with SIGBUS), and an LMDB environment of another program (its tables would be written into)."""
    needed = (env.info()["last_pgno"] + 1) * env.stat()["psize"]
    size = data_file.stat().st_size
    if size < needed:
        raise StorageError(f"{data_file} is truncated: {size} bytes, but its last commit uses {needed}")
    with env.begin() as txn:
        names = [bytes(key) for key in txn.cursor().iternext(keys=True, values=False)]
    if names and b"meta" not in names:
        shown = ", ".join(repr(n.decode("utf-8", "replace")) for n in names[:5])
        raise StorageError(f"{data_file} is not a hashnode store (it holds {shown}); refusing to write to it")


def _tally(counts: dict[str, int], record: HashRecord, author: str, delta: int) -> None:
    """Adds a record's contribution to the active-record counters."""
    for name in ("records", f"type:{record.signal_type}", f"author:{author}", *(f"label:{x}" for x in record.labels)):
        counts[name] = counts.get(name, 0) + delta
