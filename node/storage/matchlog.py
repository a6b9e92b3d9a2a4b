"""The node's local match log and its reinstatement notices, in LMDB (docs/due-process.md, "Match log").

Tables (node/storage/store.py; integers big-endian):
  matchlog      time_ms u64 ‖ query no u64 ‖ record id (32) → distance u16 ‖ content_ref (u16 len + UTF-8)
  matchlog_rec  record id (32) → time_ms u64 ‖ query no u64 (dupsort)
  matchlog_ref  SHA-256(content_ref) (32) → time_ms u64 ‖ query no u64 (dupsort); matches with a content_ref
  matchlog_qid  query no u64 → time_ms u64: finds a query by its id (`hashnode explain QUERY_ID`)
  notices       notice no u64 → `StoredNotice` (see `_encode_notice`)

A query id is the query number as 16 hex digits; numbers are random, so ids from different runs of the node
never collide in practice and say nothing about how many queries the node answers. The log is never
replicated, and it holds the platform's own content references: it is pruned to its retention window.

Matches are answered from a read transaction; recording them must not make every match wait for a disk
write, so `MatchRecorder` buffers them and they are written in bulk (by the node's maintenance loop, or by
the first write transaction that needs the log complete: one that overturns or retracts a record).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass

from node.core.canonical import Reader, Writer
from node.core.errors import HashnodeError, InvalidArgument
from node.dueprocess.matchlog import MatchLogEntry, MemoryMatchLog, ReinstateNotice, reinstate_notices
from node.storage.store import MAX_U64, Store, Txn, read_u64, u64

log = logging.getLogger(__name__)

MAX_UNWRITTEN_MATCHES = 100_000  # about 20 MB of matches answered but not yet in the store

_TIME_QUERY = 16  # time_ms u64 ‖ query no u64


def new_query_id() -> str:
    return f"{secrets.randbits(64):016x}"


def _query_no(query_id: str) -> bytes:
    try:
        raw = bytes.fromhex(query_id)
    except ValueError:
        raw = b""
    if len(raw) != 8:
        raise InvalidArgument("query_id", query_id, "16 hex digits (a query id this node issued)")
    return raw


def _ref_key(content_ref: str) -> bytes:
    return hashlib.sha256(content_ref.encode("utf-8")).digest()


def _decode(key: bytes, value: bytes) -> MatchLogEntry:
    reader = Reader(value, "match log entry")
    distance, content_ref = reader.u16(), reader.string()
    reader.end()
    return MatchLogEntry(read_u64(key[:8]), key[16:48], distance, content_ref, key[8:16].hex())


class LmdbMatchLog:
    """`dueprocess.matchlog.MatchLog` over the node's store, inside one transaction."""

    def __init__(self, store: Store, txn: Txn) -> None:
        self._txn = txn
        self._log, self._by_record, self._by_ref, self._by_query = (
            store.db("matchlog"),
            store.db("matchlog_rec"),
            store.db("matchlog_ref"),
            store.db("matchlog_qid"),
        )

    def append(self, entries: Iterable[MatchLogEntry]) -> None:
        """Writes entries; writing one twice is harmless (same key, same value; the indexes are sets)."""
        for entry in entries:
            position = u64(entry.time_ms) + _query_no(entry.query_id)
            value = Writer().u16(entry.distance).string(entry.content_ref).getvalue()
            self._txn.put(position + entry.record_id, value, db=self._log)
            self._txn.put(entry.record_id, position, db=self._by_record)
            self._txn.put(position[8:], position[:8], db=self._by_query)
            if entry.content_ref:
                self._txn.put(_ref_key(entry.content_ref), position, db=self._by_ref)

    def since(self, since_ms: int, record_ids: Collection[bytes] | None = None) -> Iterator[MatchLogEntry]:
        if record_ids is not None:
            found = [e for rid in record_ids for e in self._of_record(rid) if e.time_ms >= since_ms]
            yield from sorted(found, key=lambda e: (e.time_ms, e.query_id, e.record_id))
            return
        cursor = self._txn.cursor(db=self._log)
        if cursor.set_range(u64(since_ms)):
            for key, value in cursor:
                yield _decode(bytes(key), bytes(value))

    def _positions(self, db: object, key: bytes) -> list[bytes]:
        cursor = self._txn.cursor(db=db)
        return [bytes(v) for v in cursor.iternext_dup()] if cursor.set_key(key) else []

    def _of_record(self, rid: bytes) -> Iterator[MatchLogEntry]:
        for position in self._positions(self._by_record, rid):
            value = self._txn.get(position + rid, db=self._log)
            if value is not None:
                yield _decode(position + rid, bytes(value))

    def of_query(self, position: bytes) -> Iterator[MatchLogEntry]:
        """Every match of the query at `position` (time ‖ query no): one query's hits are adjacent."""
        cursor = self._txn.cursor(db=self._log)
        if cursor.set_range(position):
            for key, value in cursor:
                if bytes(key[:_TIME_QUERY]) != position:
                    return
                yield _decode(bytes(key), bytes(value))

    def of_query_id(self, query_id: str) -> list[MatchLogEntry]:
        """Every match of the query with this id (a `QueryResult.query_id`), or none if it is not logged.

        Raises:
            InvalidArgument: `query_id` is not 16 hex digits.
        """
        query_no = _query_no(query_id)
        time_ms = self._txn.get(query_no, db=self._by_query)
        return [] if time_ms is None else list(self.of_query(bytes(time_ms) + query_no))

    def of_content(self, content_ref: str, since_ms: int = 0) -> list[MatchLogEntry]:
        """Every match of the content with this reference, oldest first."""
        found = [
            entry
            for position in self._positions(self._by_ref, _ref_key(content_ref))
            for entry in self.of_query(position)
            if entry.content_ref == content_ref and entry.time_ms >= since_ms
        ]
        return sorted(found, key=lambda e: (e.time_ms, e.query_id, e.record_id))

    def prune(self, before_ms: int) -> int:
        """Drops entries older than `before_ms` and their index rows."""
        cursor = self._txn.cursor(db=self._log)
        doomed = []
        if cursor.first():
            for key, value in cursor:
                if read_u64(key[:8]) >= before_ms:
                    break
                doomed.append(_decode(bytes(key), bytes(value)))
        for entry in doomed:
            position = u64(entry.time_ms) + bytes.fromhex(entry.query_id)
            self._txn.delete(position + entry.record_id, db=self._log)
            self._txn.delete(entry.record_id, position, db=self._by_record)
            self._txn.delete(position[8:], db=self._by_query)
            if entry.content_ref:
                self._txn.delete(_ref_key(entry.content_ref), position, db=self._by_ref)
        return len(doomed)

    def neighbours(self, rid: bytes, since_ms: int) -> list[MatchLogEntry]:
        """The matches of `rid` since `since_ms`, and every other match of the same content (by content_ref;
        of the same query where there is none): what `reinstate_notices` groups."""
        found: dict[tuple[int, str, bytes], MatchLogEntry] = {}
        for entry in self._of_record(rid):
            if entry.time_ms < since_ms:
                continue
            if entry.content_ref:
                group = self.of_content(entry.content_ref, since_ms)
            else:
                group = list(self.of_query(u64(entry.time_ms) + bytes.fromhex(entry.query_id)))
            found.update({(e.time_ms, e.query_id, e.record_id): e for e in group})
        return list(found.values())


def notices_for(
    log: LmdbMatchLog, rid: bytes, since_ms: int, gone: Callable[[bytes], bool]
) -> list[ReinstateNotice]:
    """The reinstatement notices that `rid` ceasing to match produces: one per content that matched it.

    `gone(record_id)` says whether another record of the same content has also stopped matching for good
    (retracted or overturned); those are listed as overturned too, not as still matched.
    """
    entries = log.neighbours(rid, since_ms)
    final = {rid} | {e.record_id for e in entries if e.record_id != rid and gone(e.record_id)}
    return reinstate_notices(MemoryMatchLog(entries), final, since_ms)


# --- notices ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredNotice:
    """A reinstatement notice as this node issued it: when, and which record's end caused it."""

    number: int
    created_ms: int
    cause: bytes  # the record whose overturning or retraction produced the notice
    standing: str  # "overturned" or "retracted"
    notice: ReinstateNotice


def _ids(writer: Writer, ids: Sequence[bytes]) -> Writer:
    writer.u16(len(ids))
    for rid in ids:
        writer.fixed(rid, 32)
    return writer


def _encode_notice(stored: StoredNotice) -> bytes:
    notice = stored.notice
    writer = Writer().u64(stored.created_ms).fixed(stored.cause, 32).string(stored.standing)
    writer.string(notice.content_ref)
    _ids(writer, notice.overturned)
    _ids(writer, notice.still_matched)
    return (
        writer.strings(notice.query_ids).u64(notice.first_matched_ms).u64(notice.last_matched_ms).getvalue()
    )


def _decode_notice(number: int, data: bytes) -> StoredNotice:
    reader = Reader(data, "stored notice")
    created_ms, cause = reader.u64(), reader.fixed(32)
    standing, content_ref = reader.string(), reader.string()
    overturned = tuple(reader.fixed(32) for _ in range(reader.u16()))
    still = tuple(reader.fixed(32) for _ in range(reader.u16()))
    notice = ReinstateNotice(content_ref, overturned, still, reader.strings(), reader.u64(), reader.u64())
    reader.end()
    return StoredNotice(number, created_ms, cause, standing, notice)


class NoticeBook:
    """The notices this node issued, numbered from 1 in the order issued, inside one transaction."""

    def __init__(self, store: Store, txn: Txn) -> None:
        self._txn, self._db = txn, store.db("notices")

    def _last(self) -> int:
        cursor = self._txn.cursor(db=self._db)
        return read_u64(cursor.key()) if cursor.last() else 0

    def issue(
        self, notices: Iterable[ReinstateNotice], *, created_ms: int, cause: bytes, standing: str
    ) -> list[StoredNotice]:
        number = self._last()
        issued = []
        for notice in notices:
            number += 1
            stored = StoredNotice(number, created_ms, cause, standing, notice)
            self._txn.put(u64(number), _encode_notice(stored), db=self._db)
            issued.append(stored)
        return issued

    def after(self, number: int, limit: int) -> list[StoredNotice]:
        """Up to `limit` notices numbered above `number`, in order."""
        cursor = self._txn.cursor(db=self._db)
        found: list[StoredNotice] = []
        if number < MAX_U64 and cursor.set_range(u64(number + 1)):
            for key, value in cursor:
                if len(found) == limit:
                    break
                found.append(_decode_notice(read_u64(key), bytes(value)))
        return found

    def prune(self, before_ms: int) -> int:
        """Drops notices issued before `before_ms`: they carry content references too."""
        cursor = self._txn.cursor(db=self._db)
        doomed = []
        if cursor.first():
            for key, value in cursor:
                if read_u64(bytes(value)[:8]) >= before_ms:
                    break
                doomed.append(bytes(key))
        for key in doomed:
            self._txn.delete(key, db=self._db)
        return len(doomed)


# --- the buffer between matching and the store --------------------------------------------------------------


class MatchRecorder:
    """Match log entries answered but not yet written. Thread-safe.

    Bounded: while the store refuses writes (a full map or disk) matching goes on, and the oldest unwritten
    entries are dropped beyond `limit` rather than holding memory without end.
    """

    def __init__(self, limit: int = MAX_UNWRITTEN_MATCHES) -> None:
        self._pending: list[MatchLogEntry] = []
        self._lock = threading.Lock()
        self._limit = limit
        self.dropped = 0

    def add(self, entries: Sequence[MatchLogEntry]) -> None:
        if not entries:
            return
        with self._lock:
            self._pending.extend(entries)
            excess = max(0, len(self._pending) - self._limit)
            del self._pending[:excess]
            self.dropped += excess
        # Said when the total passes a power of two: visible, without a line per match call.
        if excess and self.dropped.bit_length() > (self.dropped - excess).bit_length():
            log.error(
                "match log: %d matches could not be written and were dropped (%d in all); is the store full?",
                excess,
                self.dropped,
            )

    def write(self, log: LmdbMatchLog) -> list[MatchLogEntry]:
        """Writes every pending entry into the caller's transaction and returns them; call `written` once that
        transaction committed. Until then they stay pending, so an aborted transaction loses nothing."""
        with self._lock:
            batch = list(self._pending)
        log.append(batch)
        return batch

    def written(self, batch: Sequence[MatchLogEntry]) -> None:
        done = {id(e) for e in batch}
        with self._lock:
            self._pending = [e for e in self._pending if id(e) not in done]

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)


class MatchLogKeeper:
    """Writes buffered matches every `flush_s` and prunes the log to its retention every `prune_s`, on a
    daemon thread, until `stop`. (Closing the ledger writes what is still buffered.)"""

    def __init__(
        self,
        flush: Callable[[], int],
        prune: Callable[[], tuple[int, int]],
        *,
        flush_s: float = 1.0,
        prune_s: float = 3600.0,
    ) -> None:
        self._flush, self._prune = flush, prune
        self._flush_s, self._prune_s = flush_s, prune_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hashnode-matchlog", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        since_prune = self._prune_s  # prune once at start
        while True:
            try:
                if since_prune >= self._prune_s:
                    dropped = self._prune()
                    since_prune = 0.0
                    if any(dropped):
                        log.info("match log: pruned %d matches and %d notices past retention", *dropped)
                self._flush()
            except HashnodeError as exc:  # e.g. a full store: keep answering matches, say so in the log
                log.error("match log: %s", exc.diagnostics())
            if self._stop.wait(self._flush_s):
                return
            since_prune += self._flush_s
