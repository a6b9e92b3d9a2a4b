"""The node's local match log and its reinstatement notices, in LMDB (docs/due-process.md, "Match log").

Tables (node/storage/store.py; integers big-endian unless said):
  matchlog       time_ms u64 ‖ query no u64 (a query's *position*) → content_ref (u16 len + UTF-8) ‖
                 hit count u32 ‖ hits (record id (32) ‖ distance u16) [‖ video count u32 ‖ videos]: one row per
                 query that matched; a video query's row ends with its hits' comparisons (`_encode_videos`)
  matchlog_runs  kind (b"r": by record, b"c": by content, b"q": by query id) ‖ newest time_ms u64 ‖ run id (8)
                 → a run's header: count u32 ‖ oldest time_ms u64 ‖ the first key of each page (u64 LE);
                 the kind in upper case ‖ the same ‖ page no u32 → up to `RUN_PAGE` keys (u64 little-endian,
                 ascending) ‖ their positions (16 each, in key order)
  notices        notice no u64 → `StoredNotice` (see `_encode_notice`; the statement ids at its end are absent
                 from notices stored by earlier versions)

The lookups the log needs besides time order, the matches of a record (for reinstatement notices), of a content
reference and of a query id (for ExplainMatch), go through *runs*: each flush writes one run per kind, mapping the
first 8 bytes of the record id (of SHA-256(content_ref); the query number) to the positions of the matches, sorted
by that key. Writing a run is one LMDB put and a sort, whatever the number of hits, where an index row per hit cost
a random B-tree insert each (~3.5 µs a hit with its share of the commit). A lookup binary-searches every run; runs
are merged `RUN_FANOUT` at a time as they accumulate (up to `MAX_RUN` entries), so there are at most tens to
hundreds of them. Keys are hash prefixes: a lookup compares the rows it finds with what it looks for, so a
collision (1 in 2^64) costs a row read, not a wrong answer.

Stores written before runs hold one `matchlog` row per hit (time_ms u64 ‖ query no u64 ‖ record id (32) →
distance u16 ‖ content_ref) and per-hit index tables, `matchlog_rec` (record id (32) → position, dupsort),
`matchlog_ref` (SHA-256(content_ref) → position, dupsort) and `matchlog_qid` (query no → time_ms u64). They
are read (a row's key length tells the two row layouts apart) and pruned; nothing is written to them any more.

A query id is the query number as 16 hex digits; numbers are random, so ids from different runs of the node
never collide in practice and say nothing about how many queries the node answers. The log is never
replicated, and it holds the platform's own content references: it is pruned to its retention window.

Matches are answered from a read transaction; recording them must not make every match wait for a disk
write, so `MatchRecorder` buffers them, one `MatchBatch` per match call, and they are written in bulk (by
the node's maintenance loop, or by the first write transaction that needs the log complete: one that
overturns or retracts a record). What "logged" means, and what a crash can lose, is in docs/due-process.md
("Match log: what is kept, and when").
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import struct
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from node.core.canonical import Reader, Writer
from node.core.errors import EncodingError, HashnodeError, InvalidArgument
from node.dueprocess.matchlog import MatchLogEntry, MemoryMatchLog, ReinstateNotice, reinstate_notices
from node.index.video import TimeRange, VideoComparison
from node.storage.store import MAX_U64, Store, Txn, read_u64, u64

log = logging.getLogger(__name__)

MAX_UNWRITTEN_MATCHES = 100_000  # hits answered but not yet in the store: a few MB

_TIME_QUERY = 16  # time_ms u64 ‖ query no u64
_OLD_KEY = _TIME_QUERY + 32  # the per-hit rows of earlier stores: time ‖ query no ‖ record id
_HIT = struct.Struct(">32sH")
_U32 = struct.Struct(">I")
_RUN_HEAD = struct.Struct(">IQ")  # a run's header: count, oldest time_ms (then its fence)
BY_RECORD, BY_CONTENT, BY_QUERY = b"r", b"c", b"q"
RUN_FANOUT = 8  # runs of about the same size merged at a time
MAX_RUN = 1 << 20  # entries: runs are not merged beyond (~24 MB)
RUN_PAGE = 4096  # entries per stored page of a run (96 KB): a lookup reads one page per run

_KEYS = np.dtype("<u8")
_POSITIONS = np.dtype([("time", ">u8"), ("query", ">u8")])  # a position as stored: time_ms ‖ query no
_HITS = np.dtype([("record_id", "V32"), ("distance", ">u2")])  # a row's hits as stored


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


def _run_key(digest: bytes) -> int:
    """The key a run files a record id (a SHA-256 digest) or a content reference's SHA-256 under."""
    return int.from_bytes(digest[:8], "little")


@dataclass(frozen=True, eq=False)
class Run:
    """Positions of matches sorted by key (a record id's or a content reference's prefix): see the module's doc."""

    keys: npt.NDArray[np.uint64]  # ascending, `_KEYS`
    positions: npt.NDArray[np.void]  # `_POSITIONS`, in key order

    def __len__(self) -> int:
        return len(self.keys)

    @classmethod
    def sorted(cls, keys: npt.NDArray[np.uint64], positions: npt.NDArray[np.void]) -> Run:
        order = np.argsort(keys, kind="stable")
        return cls(np.ascontiguousarray(keys[order], dtype=_KEYS), positions[order])

    @property
    def oldest_ms(self) -> int:
        return int(self.positions["time"].min()) if len(self) else 0

    @property
    def newest_ms(self) -> int:
        return int(self.positions["time"].max()) if len(self) else 0

    def pages(self) -> Iterator[bytes]:
        """The run as stored: pages of up to `RUN_PAGE` entries, keys then positions."""
        for start in range(0, len(self), RUN_PAGE):
            end = min(start + RUN_PAGE, len(self))
            yield self.keys[start:end].tobytes() + self.positions[start:end].tobytes()

    def fence(self) -> bytes:
        """The first key of every page: what a lookup reads to know which page to read."""
        return bytes(self.keys[::RUN_PAGE].tobytes())

    @classmethod
    def of_page(cls, page: bytes) -> Run:
        count, rest = divmod(len(page), _KEYS.itemsize + _POSITIONS.itemsize)
        if rest:
            raise EncodingError(f"match log run: a page of {len(page)} bytes")
        return cls(np.frombuffer(page, _KEYS, count), np.frombuffer(page, _POSITIONS, count, count * _KEYS.itemsize))

    def find(self, key: int) -> list[bytes]:
        """The positions filed under `key`."""
        wanted = np.uint64(key)
        lo, hi = np.searchsorted(self.keys, wanted, "left"), np.searchsorted(self.keys, wanted, "right")
        found = self.positions[lo:hi].tobytes()
        return [found[i : i + _TIME_QUERY] for i in range(0, len(found), _TIME_QUERY)]

    def since(self, since_ms: int) -> Run:
        """Only the entries at or after `since_ms`."""
        keep = self.positions["time"] >= since_ms
        return Run(self.keys[keep], self.positions[keep])

    @classmethod
    def merged(cls, runs: Sequence[Run]) -> Run:
        """One run holding every entry of `runs` once (a batch written twice is filed twice)."""
        positions = _concatenated([r.positions for r in runs])
        keys = np.concatenate([r.keys for r in runs])
        times, queries = positions["time"].astype(np.uint64), positions["query"].astype(np.uint64)
        order = np.lexsort((queries, times, keys))  # by key, then position
        keys, times, queries = keys[order], times[order], queries[order]
        fresh = np.ones(len(keys), dtype=bool)
        fresh[1:] = (keys[1:] != keys[:-1]) | (times[1:] != times[:-1]) | (queries[1:] != queries[:-1])
        return cls(np.ascontiguousarray(keys[fresh], dtype=_KEYS), positions[order][fresh])


def _concatenated(parts: Sequence[npt.NDArray[np.void]]) -> npt.NDArray[np.void]:
    """Positions concatenated as stored (numpy's concatenate of records turns them to native byte order)."""
    return np.concatenate(parts).astype(_POSITIONS, copy=False)


@dataclass(frozen=True)
class RunHeader:
    """A stored run's header: its key, size, time span and page fence."""

    key: bytes  # kind ‖ newest time_ms u64 ‖ run id (8)
    count: int
    oldest_ms: int
    fence: npt.NDArray[np.uint64]

    @property
    def newest_ms(self) -> int:
        return read_u64(self.key[1:9])

    def encode(self) -> bytes:
        return _RUN_HEAD.pack(self.count, self.oldest_ms) + self.fence.tobytes()

    @classmethod
    def decode(cls, key: bytes, value: bytes) -> RunHeader:
        if len(value) < _RUN_HEAD.size or (len(value) - _RUN_HEAD.size) % _KEYS.itemsize:
            raise EncodingError(f"match log run header: {len(value)} bytes")
        count, oldest_ms = _RUN_HEAD.unpack_from(value)
        return cls(key, count, oldest_ms, np.frombuffer(value, _KEYS, offset=_RUN_HEAD.size))

    def page_key(self, page: int) -> bytes:
        return self.key[:1].upper() + self.key[1:] + _U32.pack(page)

    def page_of(self, key: int) -> tuple[int, int]:
        """The pages that may hold `key` (a key can span pages), as a range."""
        wanted = np.uint64(key)
        first = max(int(np.searchsorted(self.fence, wanted, "left")) - 1, 0)
        last = max(int(np.searchsorted(self.fence, wanted, "right")) - 1, 0)
        return first, last + 1


@dataclass(frozen=True, eq=False)
class MatchBatch:
    """The matches of one match call, as matching produced them: what the recorder buffers and the log writes.

    Columnar, so that answering a match builds no object per hit: matched query `j` has number
    `query_nos[8j:8j+8]`, reference `content_refs[j]`, and hits `offsets[j]..offsets[j+1]` of `slots` (each an
    index into `record_ids`) and `distances`.
    """

    time_ms: int
    query_nos: bytes
    content_refs: Sequence[str]
    offsets: Sequence[int]
    record_ids: Sequence[bytes]
    slots: Sequence[int]
    distances: Sequence[int]
    videos: Sequence[VideoComparison | None] | None = None  # per hit, a video query's comparison (vpdq)

    def __len__(self) -> int:
        """Hits in the batch."""
        return len(self.slots)

    @property
    def query_ids(self) -> list[str]:
        return [self.query_nos[i : i + 8].hex() for i in range(0, len(self.query_nos), 8)]

    def entries(self) -> Iterator[MatchLogEntry]:
        """The batch as log entries, query by query."""
        videos = self.videos
        for j, (query_id, ref) in enumerate(zip(self.query_ids, self.content_refs, strict=True)):
            for hit in range(self.offsets[j], self.offsets[j + 1]):
                yield MatchLogEntry(
                    self.time_ms, self.record_ids[self.slots[hit]], self.distances[hit], ref, query_id,
                    None if videos is None else videos[hit],
                )

    @classmethod
    def of_entries(cls, entries: Iterable[MatchLogEntry]) -> list[MatchBatch]:
        """Entries grouped into batches (one per time and query; the hits of a query share its reference)."""
        groups: dict[tuple[int, str], list[MatchLogEntry]] = {}
        for entry in entries:
            groups.setdefault((entry.time_ms, entry.query_id), []).append(entry)
        batches = []
        for (time_ms, query_id), hits in groups.items():
            batches.append(
                cls(
                    time_ms,
                    _query_no(query_id),
                    [hits[0].content_ref],
                    [0, len(hits)],
                    [h.record_id for h in hits],
                    list(range(len(hits))),
                    [h.distance for h in hits],
                    [h.video for h in hits] if any(h.video for h in hits) else None,
                )
            )
        return batches


def _encode_row(content_ref: str, hits: Iterable[tuple[bytes, int]]) -> bytes:
    packed = [_HIT.pack(rid, distance) for rid, distance in hits]
    return Writer().string(content_ref).getvalue() + _U32.pack(len(packed)) + b"".join(packed)


def _decode_row(key: bytes, value: bytes) -> list[MatchLogEntry]:
    """The entries of one `matchlog` row, by record id: a query's row, or a hit's in an earlier store."""
    time_ms, query_id = read_u64(key[:8]), key[8:16].hex()
    reader = Reader(value, "match log entry")
    if len(key) == _OLD_KEY:
        distance, content_ref = reader.u16(), reader.string()
        reader.end()
        return [MatchLogEntry(time_ms, key[16:48], distance, content_ref, query_id)]
    if len(key) != _TIME_QUERY:
        raise EncodingError(f"match log: a key of {len(key)} bytes, want {_TIME_QUERY} or {_OLD_KEY}")
    content_ref, count = reader.string(), reader.u32()
    hits = [_HIT.unpack(reader.fixed(_HIT.size)) for _ in range(count)]
    videos = _decode_videos(reader, count) if reader.remaining() else {}
    reader.end()
    entries = [
        MatchLogEntry(time_ms, rid, distance, content_ref, query_id, videos.get(at))
        for at, (rid, distance) in enumerate(hits)
    ]
    return sorted(entries, key=lambda e: (e.record_id, e.distance))


def _encode_videos(videos: Sequence[VideoComparison | None]) -> bytes:
    """The comparisons of a row's video hits: count u32, then per hit its place in the row u32, the frame counts
    (query matched, query, stored matched, stored; u32 each) and the ranges of each video (count u32, then
    start_ms u64 ‖ end_ms u64 each). Empty when no hit is a video's."""
    present = [(at, v) for at, v in enumerate(videos) if v is not None]
    if not present:
        return b""
    out = Writer().u32(len(present))
    for at, v in present:
        out.u32(at).u32(v.query_matched).u32(v.query_frames).u32(v.compared_matched).u32(v.compared_frames)
        for ranges in (v.query_ranges, v.stored_ranges):
            out.u32(len(ranges))
            for r in ranges:
                out.u64(r.start_ms).u64(r.end_ms)
    return out.getvalue()


def _decode_videos(reader: Reader, hits: int) -> dict[int, VideoComparison]:
    videos = {}
    for _ in range(reader.u32()):
        at = reader.u32()
        if at >= hits:
            raise EncodingError(f"match log: a video comparison of hit {at}, want < {hits}")
        counts = (reader.u32(), reader.u32(), reader.u32(), reader.u32())
        query_ranges, stored_ranges = (
            tuple(TimeRange(reader.u64(), reader.u64()) for _ in range(reader.u32())) for _ in range(2)
        )
        videos[at] = VideoComparison(*counts, query_ranges, stored_ranges)
    return videos


class LmdbMatchLog:
    """`dueprocess.matchlog.MatchLog` over the node's store, inside one transaction."""

    def __init__(self, store: Store, txn: Txn) -> None:
        self._txn = txn
        self._log, self._runs = store.db("matchlog"), store.db("matchlog_runs")
        self._old_by_record, self._old_by_ref = store.db("matchlog_rec"), store.db("matchlog_ref")
        self._old_by_query = store.db("matchlog_qid")

    def append(self, entries: Iterable[MatchLogEntry]) -> None:
        """Writes entries; writing one twice is harmless. A query's hits already logged are kept (merged)."""
        for batch in MatchBatch.of_entries(entries):
            position = u64(batch.time_ms) + batch.query_nos
            stored = self._txn.get(position, db=self._log)
            if stored is not None:
                known = {(e.record_id, e.distance): e.video for e in _decode_row(position, bytes(stored))}
                for e in batch.entries():
                    known[(e.record_id, e.distance)] = e.video or known.get((e.record_id, e.distance))
                merged = sorted(known)
                videos = [known[key] for key in merged]
                batch = MatchBatch(
                    batch.time_ms, batch.query_nos, batch.content_refs, [0, len(merged)],
                    [rid for rid, _ in merged], list(range(len(merged))), [d for _, d in merged],
                    videos if any(videos) else None,
                )
            self.write([batch])

    def write(self, batches: Iterable[MatchBatch]) -> int:
        """Writes the batches' matches: one row per query, and one run per lookup kind; returns how many hits.
        Rewriting a batch already written leaves the same rows (and files the same positions again, which
        lookups and merges ignore)."""
        batches = list(batches)
        rows: list[tuple[bytes, bytes]] = []
        by_record: list[tuple[npt.NDArray[np.uint64], npt.NDArray[np.void]]] = []
        by_query: list[tuple[npt.NDArray[np.uint64], npt.NDArray[np.void]]] = []
        by_ref_keys: list[int] = []
        by_ref_positions: list[npt.NDArray[np.void]] = []
        for batch in batches:
            queries = len(batch.content_refs)
            if not queries:
                continue
            positions = np.empty(queries, _POSITIONS)
            positions["time"], positions["query"] = batch.time_ms, np.frombuffer(batch.query_nos, ">u8")
            ids = b"".join(batch.record_ids)
            slots = np.asarray(batch.slots, dtype=np.int64)
            hits = np.empty(len(slots), _HITS)
            hits["record_id"], hits["distance"] = np.frombuffer(ids, "V32")[slots], batch.distances
            packed, row_keys = hits.tobytes(), positions.tobytes()
            offsets = list(batch.offsets)
            for j, content_ref in enumerate(batch.content_refs):
                lo, hi = offsets[j], offsets[j + 1]
                head = Writer().string(content_ref).getvalue() + _U32.pack(hi - lo)
                tail = b"" if batch.videos is None else _encode_videos(batch.videos[lo:hi])
                rows.append((row_keys[16 * j : 16 * j + 16], head + packed[34 * lo : 34 * hi] + tail))
                if content_ref:
                    by_ref_keys.append(_run_key(_ref_key(content_ref)))
                    by_ref_positions.append(positions[j : j + 1])
            prefixes = np.frombuffer(ids, _KEYS)[::4]  # the first 8 bytes of each 32-byte record id
            by_record.append((prefixes[slots], np.repeat(positions, np.diff(offsets))))
            by_query.append((np.frombuffer(batch.query_nos, _KEYS), positions))
        rows.sort()  # in key order: LMDB walks its pages in order
        self._txn.cursor(db=self._log).putmulti(rows)
        if by_record:
            for kind, parts in ((BY_RECORD, by_record), (BY_QUERY, by_query)):
                keys = np.concatenate([k for k, _ in parts])
                self._add_run(kind, Run.sorted(keys, _concatenated([p for _, p in parts])))
        if by_ref_keys:
            self._add_run(BY_CONTENT, Run.sorted(np.asarray(by_ref_keys, _KEYS), _concatenated(by_ref_positions)))
        return sum(len(batch) for batch in batches)

    # --- runs -----------------------------------------------------------------------------------------------

    def _headers(self, kind: bytes, since_ms: int = 0) -> list[RunHeader]:
        """The runs of `kind` holding entries at or after `since_ms`."""
        cursor = self._txn.cursor(db=self._runs)
        found = []
        if cursor.set_range(kind + u64(since_ms)):
            for key, value in cursor:
                if key[:1] != kind:
                    break
                found.append(RunHeader.decode(bytes(key), bytes(value)))
        return found

    def _add_run(self, kind: bytes, run: Run) -> None:
        self._put_run(kind, run)
        self._compact(kind)

    def _put_run(self, kind: bytes, run: Run) -> None:
        if not len(run):
            return
        key = kind + u64(run.newest_ms) + secrets.token_bytes(8)
        header = RunHeader(key, len(run), run.oldest_ms, np.frombuffer(run.fence(), _KEYS))
        self._txn.put(key, header.encode(), db=self._runs)
        for page, data in enumerate(run.pages()):
            self._txn.put(header.page_key(page), data, db=self._runs)

    def _read_run(self, header: RunHeader) -> Run:
        pages = [self._page(header, page) for page in range(len(header.fence))]
        return Run(np.concatenate([p.keys for p in pages]), _concatenated([p.positions for p in pages]))

    def _page(self, header: RunHeader, page: int) -> Run:
        data = self._txn.get(header.page_key(page), db=self._runs)
        if data is None:
            raise EncodingError(f"match log run {header.key.hex()}: page {page} is missing")
        return Run.of_page(bytes(data))

    def _drop_run(self, header: RunHeader) -> None:
        self._txn.delete(header.key, db=self._runs)
        for page in range(len(header.fence)):
            self._txn.delete(header.page_key(page), db=self._runs)

    def _compact(self, kind: bytes) -> None:
        """Merges `RUN_FANOUT` runs of about the same size (the same power of `RUN_FANOUT`) into one, while any
        size has that many, up to `MAX_RUN` entries: lookups then read tens to hundreds of runs."""
        while True:
            levels: dict[int, list[RunHeader]] = {}
            for header in self._headers(kind):
                if header.count < MAX_RUN // RUN_FANOUT:
                    levels.setdefault(_level(header.count), []).append(header)
            full = next((group for group in levels.values() if len(group) >= RUN_FANOUT), None)
            if full is None:
                return
            merged = Run.merged([self._read_run(h) for h in full])
            for header in full:
                self._drop_run(header)
            self._put_run(kind, merged)

    def _find(self, kind: bytes, digest: bytes, since_ms: int) -> list[bytes]:
        """The positions filed under `digest`'s key in the runs of `kind` (each once), oldest first."""
        key = _run_key(digest)
        found: set[bytes] = set()
        for header in self._headers(kind, since_ms):
            first, end = header.page_of(key)
            for page in range(first, end):
                found.update(self._page(header, page).find(key))
        return sorted(found)

    # --- reading --------------------------------------------------------------------------------------------

    def since(self, since_ms: int, record_ids: Collection[bytes] | None = None) -> Iterator[MatchLogEntry]:
        if record_ids is not None:
            found = [e for rid in record_ids for e in self._of_record(rid, since_ms) if e.time_ms >= since_ms]
            yield from sorted(found, key=lambda e: (e.time_ms, e.query_id, e.record_id))
            return
        cursor = self._txn.cursor(db=self._log)
        if cursor.set_range(u64(since_ms)):
            for key, value in cursor:
                yield from _decode_row(bytes(key), bytes(value))

    def _old_positions(self, db: object, key: bytes) -> list[bytes]:
        cursor = self._txn.cursor(db=db)
        return [bytes(v) for v in cursor.iternext_dup()] if cursor.set_key(key) else []

    def _of_record(self, rid: bytes, since_ms: int = 0) -> Iterator[MatchLogEntry]:
        positions = set(self._find(BY_RECORD, rid, since_ms)) | set(self._old_positions(self._old_by_record, rid))
        for position in sorted(positions):
            for key in (position, position + rid):  # a query's row, or an earlier store's row of the hit
                value = self._txn.get(key, db=self._log)
                if value is not None:
                    yield from (e for e in _decode_row(key, bytes(value)) if e.record_id == rid)
                    break

    def of_query(self, position: bytes) -> Iterator[MatchLogEntry]:
        """Every match of the query at `position` (time ‖ query no)."""
        cursor = self._txn.cursor(db=self._log)
        if cursor.set_range(position):
            for key, value in cursor:
                if bytes(key[:_TIME_QUERY]) != position:
                    return
                yield from _decode_row(bytes(key), bytes(value))

    def of_query_id(self, query_id: str) -> list[MatchLogEntry]:
        """Every match of the query with this id (a `QueryResult.query_id`), or none if it is not logged.

        Raises:
            InvalidArgument: `query_id` is not 16 hex digits.
        """
        query_no = _query_no(query_id)
        positions = set(self._find(BY_QUERY, query_no, 0))
        old = self._txn.get(query_no, db=self._old_by_query)
        if old is not None:
            positions.add(bytes(old) + query_no)
        return [entry for position in sorted(positions) for entry in self.of_query(position)]

    def of_content(self, content_ref: str, since_ms: int = 0) -> list[MatchLogEntry]:
        """Every match of the content with this reference, oldest first."""
        digest = _ref_key(content_ref)
        positions = set(self._find(BY_CONTENT, digest, since_ms)) | set(self._old_positions(self._old_by_ref, digest))
        found = [
            entry
            for position in sorted(positions)
            for entry in self.of_query(position)
            if entry.content_ref == content_ref and entry.time_ms >= since_ms
        ]
        return sorted(found, key=lambda e: (e.time_ms, e.query_id, e.record_id))

    # --- retention ------------------------------------------------------------------------------------------

    def prune(self, before_ms: int) -> int:
        """Drops entries older than `before_ms`, and their index entries; returns how many entries (hits)."""
        cursor = self._txn.cursor(db=self._log)
        doomed: list[tuple[bytes, list[MatchLogEntry]]] = []
        if cursor.first():
            for key, value in cursor:
                if read_u64(key[:8]) >= before_ms:
                    break
                doomed.append((bytes(key), _decode_row(bytes(key), bytes(value))))
        dropped = 0
        for key, entries in doomed:
            self._txn.delete(key, db=self._log)
            position = key[:_TIME_QUERY]
            for entry in entries:  # the index rows of earlier stores (absent for rows written since)
                self._txn.delete(entry.record_id, position, db=self._old_by_record)
            self._txn.delete(position[8:], db=self._old_by_query)
            if entries and entries[0].content_ref:
                self._txn.delete(_ref_key(entries[0].content_ref), position, db=self._old_by_ref)
            dropped += len(entries)
        for kind in (BY_RECORD, BY_CONTENT, BY_QUERY):
            for header in self._headers(kind):
                if header.newest_ms < before_ms:
                    self._drop_run(header)
                elif header.oldest_ms < before_ms:
                    kept = self._read_run(header).since(before_ms)
                    self._drop_run(header)
                    self._put_run(kind, kept)
        return dropped

    def neighbours(self, rid: bytes, since_ms: int) -> list[MatchLogEntry]:
        """The matches of `rid` since `since_ms`, and every other match of the same content (by content_ref;
        of the same query where there is none): what `reinstate_notices` groups."""
        found: dict[tuple[int, str, bytes], MatchLogEntry] = {}
        for entry in self._of_record(rid, since_ms):
            if entry.time_ms < since_ms:
                continue
            if entry.content_ref:
                group = self.of_content(entry.content_ref, since_ms)
            else:
                group = list(self.of_query(u64(entry.time_ms) + bytes.fromhex(entry.query_id)))
            found.update({(e.time_ms, e.query_id, e.record_id): e for e in group})
        return list(found.values())


def _level(count: int) -> int:
    """Runs of sizes within a factor `RUN_FANOUT` share a level."""
    level = 0
    while count >= RUN_FANOUT:
        count //= RUN_FANOUT
        level += 1
    return level


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
    writer.strings(notice.query_ids).u64(notice.first_matched_ms).u64(notice.last_matched_ms)
    writer.strings(notice.statement_ids)
    if notice.videos:  # its past video matches: query id, record id, then a one-hit row's comparison
        writer.u32(len(notice.videos))
        for query_id, rid, video in notice.videos:
            writer.string(query_id).fixed(rid, 32).raw(_encode_videos([video]))
    return writer.getvalue()


def _decode_notice(number: int, data: bytes) -> StoredNotice:
    reader = Reader(data, "stored notice")
    created_ms, cause = reader.u64(), reader.fixed(32)
    standing, content_ref = reader.string(), reader.string()
    overturned = tuple(reader.fixed(32) for _ in range(reader.u16()))
    still = tuple(reader.fixed(32) for _ in range(reader.u16()))
    notice = ReinstateNotice(content_ref, overturned, still, reader.strings(), reader.u64(), reader.u64())
    if reader.remaining():  # notices stored before statements of reasons end here
        notice = replace(notice, statement_ids=reader.strings())
    if reader.remaining():  # a notice with past video matches
        videos = []
        for _ in range(reader.u32()):
            query_id, rid = reader.string(), reader.fixed(32)
            videos.append((query_id, rid, _decode_videos(reader, 1)[0]))
        notice = replace(notice, videos=tuple(videos))
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
    """Matches answered but not yet written, one `MatchBatch` per match call. Thread-safe.

    Bounded: while the store refuses writes (a full map or disk) matching goes on, and the oldest unwritten
    batches are dropped once more than `limit` hits wait, rather than holding memory without end. Dropped hits
    were never logged (docs/due-process.md says what "logged" means); they are counted in `dropped`.
    """

    def __init__(self, limit: int | None = MAX_UNWRITTEN_MATCHES) -> None:
        self._pending: list[MatchBatch] = []
        self._writing: set[int] = set()  # ids of the pending batches a transaction is writing: never dropped
        self._hits = 0
        self._lock = threading.Lock()
        self._limit = limit
        self.dropped = 0  # hits dropped unwritten
        self.logged = 0  # hits written by committed transactions (`written`)

    def add(self, batch: MatchBatch) -> None:
        if not len(batch):
            return
        excess = 0
        with self._lock:
            self._pending.append(batch)
            self._hits += len(batch)
            while self._limit is not None and self._hits > self._limit:
                at = next((i for i, b in enumerate(self._pending[:-1]) if id(b) not in self._writing), None)
                if at is None:
                    break
                oldest = self._pending.pop(at)
                self._hits -= len(oldest)
                excess += len(oldest)
            self.dropped += excess
            dropped = self.dropped
        # Said when the total passes a power of two: visible, without a line per match call.
        if excess and dropped.bit_length() > (dropped - excess).bit_length():
            log.error(
                "match log: %d matches could not be written and were dropped (%d in all); is the store full?",
                excess,
                dropped,
            )

    def write(self, log: LmdbMatchLog) -> list[MatchBatch]:
        """Writes every pending batch into the caller's transaction and returns them; call `written` once that
        transaction committed. Until then they stay pending, so an aborted transaction loses nothing."""
        with self._lock:
            batches = list(self._pending)
            self._writing = {id(b) for b in batches}
        log.write(batches)
        return batches

    def written(self, batches: Sequence[MatchBatch]) -> None:
        """The transaction that wrote `batches` (from `write`) committed: they are logged."""
        done = {id(b) for b in batches}
        with self._lock:
            kept = [b for b in self._pending if id(b) not in done]
            removed = self._hits - sum(len(b) for b in kept)
            self._pending, self._hits = kept, self._hits - removed
            self._writing -= done
            self.logged += removed

    def is_pending(self, batch: MatchBatch) -> bool:
        with self._lock:
            return any(b is batch for b in self._pending)

    def discard(self, batch: MatchBatch) -> None:
        """Withdraws a pending batch (its match call failed: it answered nothing)."""
        with self._lock:
            kept = [b for b in self._pending if b is not batch]
            if len(kept) < len(self._pending):
                self._pending = kept
                self._hits -= len(batch)

    def __len__(self) -> int:
        """Hits pending."""
        with self._lock:
            return self._hits


class MatchLogKeeper:
    """Writes buffered matches every `flush_s` and prunes the log to its retention every `prune_s`, on a
    daemon thread, until `stop`. (Closing the ledger writes what is still buffered.)"""

    def __init__(
        self,
        flush: Callable[[], int],
        prune: Callable[[], tuple[int, ...]],
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
                        log.info(
                            "match log: pruned %d matches, %d notices and %d statements past retention", *dropped
                        )
                self._flush()
            except HashnodeError as exc:  # e.g. a full store: keep answering matches, say so in the log
                log.error("match log: %s", exc.diagnostics())
            if self._stop.wait(self._flush_s):
                return
            since_prune += self._flush_s
