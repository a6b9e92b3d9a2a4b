"""The PDQ near-duplicate index: every stored hash within a Hamming threshold of a query, exactly.

Structure (a small log-structured merge of immutable parts):
- a *delta* of the most recent additions, scanned flat, so `add` is cheap and additions match as soon as it
  returns;
- *segments* (`MihSegment`): multi-index-hashing tables, built in bulk at start-up and, later, from full
  deltas. Segments of similar size are merged so there are only a few, which bounds per-query overhead;
  large merges run on a background thread while the old segments keep answering.

Removal marks records dead (a bitmap per segment; the delta is rewritten), so a removed ordinal stops matching
as soon as `remove` returns; merges drop dead records for good.

Thresholds up to 31 use the multi-index tables; 32..64 scan every hash (exact, but linear in the index size).

Concurrency: any number of threads may `query` while one thread at a time changes the index. Writers take a
lock and publish a new immutable `_State`; a query reads the state once, so it never sees a half-applied
merge.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from node.core.errors import InvalidArgument
from node.index import flat, mih
from node.index.flat import Words
from node.index.mih import Int32s, Int64s, Matches, MihSegment

MAX_THRESHOLD: Final = 64
"""Largest threshold a query may ask for: probing up to `MIH_MAX_THRESHOLD`, a scan of every hash above."""
DEFAULT_THRESHOLD: Final = 31
MIH_MAX_THRESHOLD: Final = mih.MAX_THRESHOLD

# A delta this large is turned into a segment. The delta is scanned flat by every query, so it must stay
# small; building a segment of this size takes a few milliseconds.
DELTA_MAX: Final = 2048
# The newest segment is merged into the one before it while that one is at most this many times larger:
# segment sizes grow geometrically, so there are O(log n) of them and each record is rewritten O(log n) times.
MERGE_RATIO: Final = 4
# A segment more than this fraction dead is rebuilt, so removals do not leave memory and probe work behind.
DEAD_FRACTION_REBUILD: Final = 0.5
# Merges of at least this many records run on a background thread (a 10M-hash build takes seconds).
BACKGROUND_MERGE_MIN: Final = 1 << 20

_log = logging.getLogger(__name__)
_FORMAT: Final = "hashnode-pdq-index"
# Version 2 lists the segment's tables (node/index/crowding.py); version 1 had one table, named by "chunking".
# Both are read; version 2 is written.
_FORMAT_VERSION: Final = 2
_READABLE_VERSIONS: Final = (1, 2)


class IndexArgumentError(InvalidArgument, ValueError):
    """A malformed argument: a ValueError to callers of the index, an InvalidArgument at the service edge."""


@dataclass(frozen=True)
class _Delta:
    """Recent additions, scanned flat. Immutable: `add` and `remove` build a new one."""

    words: Words
    ordinals: Int64s

    @classmethod
    def empty(cls) -> _Delta:
        return cls(np.empty((0, flat.WORDS_PER_HASH), np.uint64), np.empty(0, np.int64))

    def __len__(self) -> int:
        return len(self.ordinals)

    def plus(self, words: Words, ordinals: Int64s) -> _Delta:
        return _Delta(np.concatenate([self.words, words]), np.concatenate([self.ordinals, ordinals]))

    def minus(self, ordinals: Int64s) -> _Delta:
        keep = ~np.isin(self.ordinals, ordinals)
        return self if keep.all() else _Delta(self.words[keep], self.ordinals[keep])

    def scan(self, queries: Words, threshold: int) -> Matches:
        query_idx, rows, distance = flat.scan(self.words, queries, threshold)
        return query_idx, self.ordinals[rows], distance


@dataclass
class _MergeJob:
    """A background merge: the consecutive segments it replaces and the removals made meanwhile."""

    parts: tuple[MihSegment, ...]
    removed: list[Int64s]
    thread: threading.Thread


@dataclass(frozen=True)
class _State:
    """What a query reads: published whole by writers, never modified in place (except dead bits)."""

    segments: tuple[MihSegment, ...]
    delta: _Delta


class PdqIndex:
    """In-memory PDQ index. Keys are int64 'ordinals' chosen by the caller (one per distinct stored record).

    An ordinal must be live at most once: adding an ordinal that is already live stores a second copy (each
    copy is returned). Identical hashes under different ordinals are all returned.
    """

    def __init__(self) -> None:
        self._state = _State((), _Delta.empty())
        self._live = 0
        self._write_lock = threading.Lock()
        self._job: _MergeJob | None = None  # at most one background merge at a time

    @classmethod
    def build(cls, ordinals: npt.ArrayLike, hashes: npt.ArrayLike) -> PdqIndex:
        """Bulk-builds one segment from all records: the start-up path (10M hashes in ~10 s on 2 cores; `load`
        of a saved index takes milliseconds)."""
        ords, words = _check_records(ordinals, hashes)
        index = cls()
        if len(ords):
            index._state = _State((MihSegment.build(words, ords),), _Delta.empty())
            index._live = len(ords)
        return index

    def add(self, ordinals: npt.ArrayLike, hashes: npt.ArrayLike) -> None:
        """Adds records; they match as soon as this returns.

        Cheap per call: records go to the flat delta, which becomes a segment once it holds `DELTA_MAX`
        records.
        """
        ords, words = _check_records(ordinals, hashes)
        if len(ords) == 0:
            return
        with self._write_lock:
            state = self._state
            delta = state.delta.plus(words, ords)
            if len(delta) < DELTA_MAX:
                self._state = _State(state.segments, delta)
            else:
                segments = self._merge_tail((*state.segments, MihSegment.build(delta.words, delta.ordinals)))
                self._state = _State(segments, _Delta.empty())
            self._live += len(ords)

    def remove(self, ordinals: npt.ArrayLike) -> None:
        """Removes every record of the given ordinals; unknown ordinals are ignored.

        Costs a linear pass over each segment's ordinals (removals are rare; queries stay untouched).
        """
        wanted = np.unique(_check_ordinals(ordinals, "ordinals"))
        if len(wanted) == 0:
            return
        with self._write_lock:
            state = self._state
            removed = sum(segment.kill(wanted) for segment in state.segments)
            delta = state.delta.minus(wanted)
            removed += len(state.delta) - len(delta)
            if self._job is not None:
                self._job.removed.append(wanted)  # the merged copy is built from before these
            segments = tuple(self._rebuilt_if_mostly_dead(segment) for segment in state.segments)
            self._state = _State(tuple(s for s in segments if s.records), delta)
            self._live -= removed

    def query(
        self, hashes: npt.ArrayLike, threshold: int = DEFAULT_THRESHOLD
    ) -> tuple[Int32s, Int64s, Int32s]:
        """Every live record within Hamming distance `threshold` of each query hash.

        Args:
            hashes: uint8 `(m, 32)`, PDQ bytes in hex order (`bytes.fromhex(hex64)`).
            threshold: 0..MAX_THRESHOLD inclusive.

        Returns:
            `(query_idx int32, ordinals int64, distances int32)` sorted by (query_idx, distance, ordinal).

        Raises:
            IndexArgumentError (a ValueError): threshold out of range or hashes malformed.
        """
        _check_threshold(threshold)
        queries = _check_hashes(hashes, "hashes")
        state = self._state
        parts = [
            segment.match(queries, threshold)
            if threshold <= MIH_MAX_THRESHOLD
            else segment.scan(queries, threshold)
            for segment in state.segments
        ]
        if len(state.delta):
            parts.append(state.delta.scan(queries, threshold))
        query_idx, ordinals, distance = mih.concat_matches(parts)
        if len(query_idx) == 0:  # most uploads match nothing
            return np.empty(0, np.int32), np.empty(0, np.int64), np.empty(0, np.int32)
        order = np.lexsort((ordinals, (query_idx << 8) | distance))
        return query_idx[order].astype(np.int32), ordinals[order], distance[order]

    def candidates(self, hashes: npt.ArrayLike, threshold: int = DEFAULT_THRESHOLD) -> Int64s:
        """For each query hash, how many stored hashes `query` compares in full: a diagnostic of its work.

        Raises:
            IndexArgumentError (a ValueError): threshold out of range or hashes malformed.
        """
        _check_threshold(threshold)
        queries = _check_hashes(hashes, "hashes")
        state = self._state
        counts = np.full(len(queries), len(state.delta), np.int64)
        for segment in state.segments:
            counts += segment.candidates(queries, threshold)
        return counts

    def __len__(self) -> int:
        """Live records (ordinals)."""
        return self._live

    def memory_bytes(self) -> int:
        """Bytes held by the index arrays (memory-mapped segments included)."""
        state = self._state
        delta = state.delta.words.nbytes + state.delta.ordinals.nbytes
        return int(delta) + sum(segment.nbytes() for segment in state.segments)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes the live records as one segment into directory `path`, for a fast memory-mapped `load`.

        One `.npy` file per array, then `manifest.json` last: a directory without a manifest is incomplete.
        Each file is written aside and renamed into place: saving over the files a loaded index maps is safe.
        """
        segment = self._single_segment()
        target = Path(path)
        target.mkdir(parents=True, exist_ok=True)
        (target / "manifest.json").unlink(missing_ok=True)
        for name, array in segment.arrays().items():
            aside = target / f"{name}.npy.tmp"
            with aside.open("wb") as out:
                np.save(out, array, allow_pickle=False)
            os.replace(aside, target / f"{name}.npy")
        manifest = {
            "format": _FORMAT,
            "version": _FORMAT_VERSION,
            "ord_base": segment.ord_base,
            "tables": [spec.to_json() for spec in segment.specs],
        }
        (target / "manifest.json").write_text(json.dumps(manifest))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PdqIndex:
        """Opens an index written by `save`, memory-mapping its arrays (only the removal bitmap is copied).

        Raises:
            IndexArgumentError: the directory is not a complete saved index of this format.
        """
        target = Path(path)
        manifest = _read_manifest(target)
        # Plain ndarray views of the maps (they keep the maps open): np.memmap indexing goes through Python
        # code on every call, a tenth of a one-hash query.
        arrays = {
            name: np.load(target / f"{name}.npy", mmap_mode="r", allow_pickle=False).view(np.ndarray)
            for name in ("words", "positions", "lookup", "ords", "extra_rows", "extra_ords")
        }
        arrays["dead"] = np.load(target / "dead.npy", allow_pickle=False)
        try:
            segment = MihSegment(arrays, _manifest_int(manifest, "ord_base"), _saved_tables(manifest, arrays))
        except ValueError as exc:
            if isinstance(exc, IndexArgumentError):
                raise
            raise IndexArgumentError("path", str(target), f"a consistent saved index ({exc})") from exc
        index = cls()
        if segment.records:
            index._state = _State((segment,), _Delta.empty())
            index._live = segment.live
        return index

    def wait_for_merges(self) -> None:
        """Returns once no background merge is running (for shutdown and tests)."""
        job = self._job
        if job is not None:
            job.thread.join()

    def _merge_tail(self, segments: tuple[MihSegment, ...]) -> tuple[MihSegment, ...]:
        """Merges the newest segment into its predecessor while they are within `MERGE_RATIO` in size.

        Small merges happen here; one as large as `BACKGROUND_MERGE_MIN` is handed to a thread instead, so
        `add` stays cheap: the two segments keep answering queries until the merged one replaces them.
        """
        merged = list(segments)
        while len(merged) >= 2 and merged[-2].live <= MERGE_RATIO * merged[-1].live:
            pair = (merged[-2], merged[-1])
            if self._job is not None and any(s in self._job.parts for s in pair):
                break  # already being merged: wait for that
            if pair[0].live + pair[1].live >= BACKGROUND_MERGE_MIN:
                self._start_merge(pair)
                break
            merged[-2:] = [_merged(*pair)]
        return tuple(merged)

    def _rebuilt_if_mostly_dead(self, segment: MihSegment) -> MihSegment:
        if segment.n_dead <= DEAD_FRACTION_REBUILD * segment.records:
            return segment
        if self._job is not None and segment in self._job.parts:
            return segment  # the merge in progress drops its dead records
        if segment.live >= BACKGROUND_MERGE_MIN:
            self._start_merge((segment,))
            return segment
        return _merged(segment)

    def _start_merge(self, parts: tuple[MihSegment, ...]) -> None:
        """Merges consecutive `parts` on a thread (caller holds the write lock); one merge at a time."""
        if self._job is not None:
            return
        thread = threading.Thread(target=self._run_merge, name="pdq-index-merge", daemon=True)
        self._job = _MergeJob(parts, [], thread)
        thread.start()

    def _run_merge(self) -> None:
        job = self._job
        assert job is not None
        try:
            merged = _merged(*job.parts)
        except Exception:
            _log.exception("PDQ index: background merge failed; the unmerged segments stay in use")
            with self._write_lock:
                self._job = None
            return
        with self._write_lock:
            # Removals made while merging marked the old segments only; apply them to the merged copy.
            if job.removed:
                merged.kill(np.unique(np.concatenate(job.removed)))
            state = self._state
            segments = list(state.segments)
            at = next(i for i, s in enumerate(segments) if s is job.parts[0])
            segments[at : at + len(job.parts)] = [merged] if merged.records else []
            self._state = _State(tuple(segments), state.delta)
            self._job = None

    def _single_segment(self) -> MihSegment:
        """The whole index as one segment without dead records (the current one if it already is)."""
        state = self._state
        if len(state.segments) == 1 and len(state.delta) == 0 and state.segments[0].n_dead == 0:
            return state.segments[0]
        words, ordinals = _live_records(state)
        return MihSegment.build(words, ordinals)


def hamming_bruteforce(db_hashes: npt.ArrayLike, queries: npt.ArrayLike, threshold: int) -> list[set[int]]:
    """The test oracle: for each query, the row indices of `db_hashes` within `threshold`.

    Deliberately independent of the index code: byte-wise XOR and a 256-entry popcount table, one query at a
    time.
    """
    db = np.asarray(db_hashes, dtype=np.uint8).reshape(-1, flat.HASH_BYTES)
    qs = np.asarray(queries, dtype=np.uint8).reshape(-1, flat.HASH_BYTES)
    popcount = np.array([bin(value).count("1") for value in range(256)], dtype=np.int32)
    found: list[set[int]] = []
    for query in qs:
        distance = popcount[db ^ query].sum(axis=1)
        found.append({int(row) for row in np.flatnonzero(distance <= threshold)})
    return found


def _merged(*segments: MihSegment) -> MihSegment:
    words, ordinals = _live_records(_State(segments, _Delta.empty()))
    return MihSegment.build(words, ordinals)


def _live_records(state: _State) -> tuple[Words, Int64s]:
    parts = [segment.live_records() for segment in state.segments]
    parts.append((state.delta.words, state.delta.ordinals))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _check_threshold(threshold: int) -> None:
    if isinstance(threshold, bool) or not isinstance(threshold, int | np.integer):
        raise IndexArgumentError("threshold", threshold, f"an integer 0..{MAX_THRESHOLD}")
    if not 0 <= threshold <= MAX_THRESHOLD:
        raise IndexArgumentError("threshold", threshold, f"0..{MAX_THRESHOLD}")


def _check_hashes(hashes: npt.ArrayLike, field: str) -> Words:
    array = np.asarray(hashes)
    if array.dtype != np.uint8 or array.ndim != 2 or array.shape[1] != flat.HASH_BYTES:
        raise IndexArgumentError(field, f"{array.dtype} {array.shape}", f"uint8 (n, {flat.HASH_BYTES})")
    return flat.as_words(array)


def _check_ordinals(ordinals: npt.ArrayLike, field: str) -> Int64s:
    array = np.asarray(ordinals)
    if array.ndim != 1 or not (np.issubdtype(array.dtype, np.integer) or array.size == 0):
        raise IndexArgumentError(field, f"{array.dtype} {array.shape}", "integers, shape (n,)")
    if array.dtype == np.uint64 and array.size and int(array.max()) > np.iinfo(np.int64).max:
        raise IndexArgumentError(field, int(array.max()), "values that fit int64")
    return array.astype(np.int64)


def _check_records(ordinals: npt.ArrayLike, hashes: npt.ArrayLike) -> tuple[Int64s, Words]:
    ords = _check_ordinals(ordinals, "ordinals")
    words = _check_hashes(hashes, "hashes")
    if len(ords) != len(words):
        raise IndexArgumentError("ordinals", f"{len(ords)} ordinals", f"one per hash ({len(words)})")
    return ords, words


def _manifest_int(manifest: dict[str, object], key: str) -> int:
    value = manifest.get(key)
    if not isinstance(value, int):
        raise IndexArgumentError(key, value, "an integer in the index manifest")
    return value


def _read_manifest(target: Path) -> dict[str, object]:
    try:
        manifest = json.loads((target / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise IndexArgumentError(
            "path", str(target), f"a directory written by PdqIndex.save ({exc})"
        ) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
        raise IndexArgumentError("path", str(target), f"a {_FORMAT} manifest")
    if manifest.get("version") not in _READABLE_VERSIONS:
        raise IndexArgumentError("version", manifest.get("version"), " or ".join(map(str, _READABLE_VERSIONS)))
    return manifest


def _saved_tables(manifest: dict[str, object], arrays: dict[str, npt.NDArray[Any]]) -> list[mih.TableSpec]:
    """The tables a manifest lists; a version 1 manifest names the chunking of its one table."""
    if manifest.get("version") == 1:
        chunking = mih.CHUNKINGS.get(str(manifest.get("chunking")))
        if chunking is None or chunking.sources is not None:
            raise IndexArgumentError("chunking", manifest.get("chunking"), "narrow or wide")
        return [mih.TableSpec(chunking, len(arrays["words"]), len(arrays["lookup"]))]
    tables = manifest.get("tables")
    if not isinstance(tables, list) or not tables:
        raise IndexArgumentError("tables", tables, "a list of the segment's tables")
    return [mih.TableSpec.from_json(table) for table in tables]
