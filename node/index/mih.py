"""An immutable multi-index-hashing segment over PDQ hashes (Norouzi, Punjani and Fleet, 2012).

A 256-bit hash is cut into chunks. If two hashes differ in at most t bits and chunk i is probed with radius
r_i (its value and every value within r_i bit flips), then any sum of r_i + 1 over the chunks that exceeds t
guarantees a hit: a hash that escaped every probe would differ in at least r_i + 1 bits in every chunk. The
candidates found are checked exactly. With 16 chunks of 16 bits and radius 1 that is the classic bound,
t <= 31.

Two chunkings, chosen by segment size:
- `NARROW`, 16 chunks of 16 bits: a 65,537-entry offsets table per chunk (4 MiB in all), fine from small
  sizes;
- `WIDE`, 12 chunks of 21/21/22 bits per 64-bit word: 128 MiB of offsets, worth it from ~8M hashes, where it
  checks about 7,000 candidates per query at threshold 31 instead of 41,000. Each candidate is a cache miss,
  so this is what keeps a 10M-hash query well under a millisecond.

Layout (bytes per distinct hash at 10M: 32 + 44 + 13 + 4 = 93, within the 100-byte budget):
- `words`: the distinct hashes, `(u, 4) uint64`, ordered by chunk 0 so that chunk 0 needs no permutation;
- `positions`: for each other chunk, row numbers ordered by that chunk's value, concatenated, uint32;
- `lookup`: per chunk, where each chunk value's run starts in `positions` (CSR offsets). Segments under 65,536
  hashes keep sorted `(chunk << 24 | value)` keys instead and binary-search them: offsets would dominate;
- ordinals: one per distinct hash, plus `extra_rows`/`extra_ords` for further records with an identical hash,
  so a hash stored many times is probed and checked once. Kept as uint32 offsets from a base when they fit;
- `dead`: a bitmap over records; removal sets a bit, a later merge drops the record.

"Rows" below are distinct hashes; "records" are (hash, ordinal) pairs: record `i < u` is row i's first
ordinal, record `u + j` is extra j.
"""

from __future__ import annotations

import heapq
import itertools
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from math import comb
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from node.index import flat
from node.index.flat import Words

MAX_THRESHOLD: Final = 31
"""Largest threshold answered by probing (radius <= 2 per chunk); above it callers scan."""

# Segments with fewer rows are scanned flat: probing has a fixed cost (~0.1 ms) that a scan of a few thousand
# rows undercuts, and every fresh segment (a full delta) starts this small.
MIH_MIN_ROWS: Final = 4096
# Segments of at least this many rows use the wide chunking (its offsets cost 128 MiB, 13 B/hash at 10M).
WIDE_MIN_ROWS: Final = 1 << 23
# Below this many rows, sorted keys (64 B/row) are smaller than a 65,537-entry offsets table per chunk.
_OFFSETS_MIN_ROWS: Final = 1 << 16
# Candidates gathered at once: small enough that the working arrays stay in cache, bounds memory too.
_CANDIDATE_BATCH: Final = 1 << 17
# A query whose buckets hold more candidates than this fraction of the rows is scanned flat instead:
# low-entropy hashes crowd a few chunk values, and then reading every row in order is cheaper than gathering
# candidates.
_FLAT_FRACTION: Final = 0.25
# Queries per batch at most: `_distinct` packs a query's place in its batch above 39 bits of row and distance.
_MAX_BATCH_QUERIES: Final = 1 << 20
# Building chunk tables on several threads (numpy sorts release the GIL) pays off only for large segments.
_PARALLEL_MIN_ROWS: Final = 1 << 18
_UINT32_SPAN: Final = 1 << 32
_KEY_SHIFT: Final = 24
_MIX: Final = np.array(
    [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93], dtype=np.uint64
)

Int64s = npt.NDArray[np.int64]
Int32s = npt.NDArray[np.int32]
UInt32s = npt.NDArray[np.uint32]
Matches = tuple[Int64s, Int64s, Int32s]
"""`(query_idx, ordinal or row, distance)`, unsorted."""


@dataclass(frozen=True)
class Chunking:
    """How each 64-bit word of a hash is cut into chunks: their bit widths, low bits first."""

    name: str
    widths: tuple[int, ...]

    @cached_property
    def chunks(self) -> tuple[tuple[int, int, int], ...]:
        """`(word, shift, width)` of every chunk; chunk 0 is the one rows are sorted by."""
        found = []
        for word in range(flat.WORDS_PER_HASH):
            shifts = itertools.accumulate(self.widths[:-1], initial=0)
            found += [(word, shift, width) for shift, width in zip(shifts, self.widths, strict=True)]
        return tuple(found)

    @cached_property
    def columns(self) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
        """`chunks` as arrays: word index, shift and value mask per chunk."""
        word, shift, width = zip(*self.chunks, strict=True)
        masks = [(1 << w) - 1 for w in width]
        return np.array(word, np.intp), np.array(shift, np.uint64), np.array(masks, np.uint64)

    def values(self, words: Words, chunk: int) -> npt.NDArray[np.uint32] | npt.NDArray[np.uint16]:
        """Chunk `chunk` of every row; uint16 for 16-bit chunks (read straight from a uint16 view)."""
        word, shift, width = self.chunks[chunk]
        if width == 16 and shift % 16 == 0 and np.little_endian:
            return np.ascontiguousarray(words.view(np.uint16)[:, word * 4 + shift // 16])
        return ((words[:, word] >> np.uint64(shift)) & np.uint64((1 << width) - 1)).astype(np.uint32)


NARROW: Final = Chunking("narrow", (16, 16, 16, 16))
WIDE: Final = Chunking("wide", (21, 21, 22))
CHUNKINGS: Final = {c.name: c for c in (NARROW, WIDE)}


@dataclass(frozen=True)
class _Plan:
    """The probes for one threshold: per probe its chunk and the bits flipped, chunk 0's probes first."""

    chunk: npt.NDArray[np.intp]
    flips: npt.NDArray[np.uint64]
    identity_probes: int


class MihSegment:
    """Distinct hashes, their ordinals and removal marks, with per-chunk tables for probing.

    Everything but the `dead` bitmap is immutable after construction, so readers can use a segment while a
    writer marks removals (a reader sees each removal either before or after, never a torn state).
    """

    def __init__(self, arrays: Mapping[str, npt.NDArray[Any]], ord_base: int, chunking: Chunking) -> None:
        self.words: Words = arrays["words"]
        self.positions: UInt32s = arrays["positions"]
        self.lookup: UInt32s = arrays["lookup"]
        self.ords: UInt32s | Int64s = arrays["ords"]
        self.extra_rows: UInt32s = arrays["extra_rows"]
        self.extra_ords: UInt32s | Int64s = arrays["extra_ords"]
        self.dead: npt.NDArray[np.uint8] = arrays["dead"]
        self.ord_base = ord_base
        self.chunking = chunking
        self.rows = len(self.words)
        self.records = self.rows + len(self.extra_rows)
        self.n_dead = int(np.bitwise_count(self.dead).sum())
        chunks = chunking.chunks
        self._has_offsets = len(self.lookup) == sum((1 << width) + 1 for _, _, width in chunks)
        self._table_base = np.cumsum([0] + [(1 << width) + 1 for _, _, width in chunks[:-1]])
        self._plans: dict[int, _Plan] = {}

    @classmethod
    def build(cls, words: Words, ordinals: Int64s) -> MihSegment:
        """Builds a segment from `(n, 4)` hash words and their ordinals; identical hashes share one row."""
        if len(words) >= _UINT32_SPAN:
            raise ValueError(f"segment size: got {len(words)} hashes, want < 2**32")
        chunking = WIDE if len(words) >= WIDE_MIN_ROWS else NARROW
        order = _group_order(words, chunking)
        grouped = np.take(words, order, axis=0)
        grouped_ords = ordinals[order]
        first = _first_of_runs(grouped)
        if first.all():
            rows, primary = grouped, grouped_ords
            extra_rows, extra_ords = np.empty(0, np.uint32), np.empty(0, np.int64)
        else:
            rows, primary = grouped[first], grouped_ords[first]
            extra_rows = (np.cumsum(first)[~first] - 1).astype(np.uint32)
            extra_ords = grouped_ords[~first]
        ord_base, enc_primary, enc_extra = _encode_ordinals(primary, extra_ords)
        positions, lookup = _chunk_tables(rows, chunking)
        arrays: dict[str, npt.NDArray[Any]] = {
            "words": rows,
            "positions": positions,
            "lookup": lookup,
            "ords": enc_primary,
            "extra_rows": extra_rows,
            "extra_ords": enc_extra,
            "dead": np.zeros((len(rows) + len(extra_rows) + 7) // 8, dtype=np.uint8),
        }
        return cls(arrays, ord_base, chunking)

    @property
    def live(self) -> int:
        return self.records - self.n_dead

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        """The arrays that make up the segment, for persistence (`__init__` takes them back)."""
        return {
            "words": self.words,
            "positions": self.positions,
            "lookup": self.lookup,
            "ords": self.ords,
            "extra_rows": self.extra_rows,
            "extra_ords": self.extra_ords,
            "dead": self.dead,
        }

    def nbytes(self) -> int:
        return sum(int(array.nbytes) for array in self.arrays().values())

    def match(self, queries: Words, threshold: int) -> Matches:
        """Live `(query_idx, ordinal, distance)` within `threshold` (<= 31), by probing the chunk tables."""
        if not 0 <= threshold <= MAX_THRESHOLD:
            raise ValueError(f"threshold: got {threshold}, want 0..{MAX_THRESHOLD} for probing")
        if self.rows < MIH_MIN_ROWS:
            return self.scan(queries, threshold)
        plan = self._plan(threshold)
        starts, counts = self._probe(queries, plan)
        per_query = counts.sum(axis=0)
        crowded = per_query > _FLAT_FRACTION * self.rows
        parts = []
        if crowded.any():
            parts.append(self._scan_subset(queries, np.flatnonzero(crowded), threshold))
        for batch in _batches(np.flatnonzero(~crowded), per_query, _CANDIDATE_BATCH):
            parts.append(self._check(queries, batch, starts, counts, plan, threshold))
        return self._to_records(*concat_matches(parts))

    def candidates(self, queries: Words, threshold: int) -> Int64s:
        """How many rows each query compares in full: bucket entries probed (a row found in several buckets
        counts each time) or, for a query scanned flat, every row."""
        if threshold > MAX_THRESHOLD or self.rows < MIH_MIN_ROWS:
            return np.full(len(queries), self.rows, np.int64)
        per_query: Int64s = self._probe(queries, self._plan(threshold))[1].sum(axis=0)
        return np.where(per_query > _FLAT_FRACTION * self.rows, self.rows, per_query)

    def scan(self, queries: Words, threshold: int) -> Matches:
        """Live `(query_idx, ordinal, distance)` within any threshold, by reading every row."""
        return self._to_records(*flat.scan(self.words, queries, threshold))

    def kill(self, ordinals: Int64s) -> int:
        """Marks the records of `ordinals` removed; returns how many live records that removed."""
        wanted = self._encode(ordinals)
        if len(wanted) == 0:
            return 0
        records = np.concatenate(
            [
                np.flatnonzero(np.isin(self.ords, wanted)),
                np.flatnonzero(np.isin(self.extra_ords, wanted)) + self.rows,
            ]
        )
        fresh = records[~self._is_dead(records)]
        np.bitwise_or.at(self.dead, fresh >> 3, (1 << (fresh & 7)).astype(np.uint8))
        self.n_dead += len(fresh)
        return len(fresh)

    def live_records(self) -> tuple[Words, Int64s]:
        """Hash words and ordinals of every live record, for merging segments."""
        records = np.arange(self.records, dtype=np.int64)
        records = records[~self._is_dead(records)]
        rows = np.where(records < self.rows, records, 0)
        extra = records >= self.rows
        rows[extra] = self.extra_rows[records[extra] - self.rows]
        return np.take(self.words, rows, axis=0), self._ordinals_of(records)

    def _plan(self, threshold: int) -> _Plan:
        plan = self._plans.get(threshold)
        if plan is None:
            plan = self._plans[threshold] = _make_plan(self.chunking, threshold, self.rows)
        return plan

    def _probe(self, queries: Words, plan: _Plan) -> tuple[Int64s, Int64s]:
        """Bucket ranges `(start, count)` shaped `(probe, query)`.

        Ranges of chunk 0's probes are row numbers (its table is the identity); the others index `positions`.
        """
        word, shift, mask = self.chunking.columns
        chunk = plan.chunk
        values = (queries.T[word[chunk]] >> shift[chunk][:, None]) & mask[chunk][:, None]
        values ^= plan.flips[:, None]
        later = (chunk > 0)[:, None]
        if self._has_offsets:
            slots = values.astype(np.int64) + self._table_base[chunk][:, None]
            starts = self.lookup[slots].astype(np.int64)
            counts = self.lookup[slots + 1].astype(np.int64) - starts
            return starts + np.where(later, (chunk[:, None] - 1) * self.rows, 0), counts
        keys = (chunk.astype(np.uint64)[:, None] << np.uint64(_KEY_SHIFT)) | values
        starts = np.searchsorted(self.lookup, keys.astype(np.uint32), side="left").astype(np.int64)
        counts = np.searchsorted(self.lookup, keys.astype(np.uint32), side="right").astype(np.int64) - starts
        return starts - np.where(later, self.rows, 0), counts

    def _check(
        self, queries: Words, batch: Int64s, starts: Int64s, counts: Int64s, plan: _Plan, threshold: int
    ) -> Matches:
        """Gathers the candidates of one batch of queries and keeps those within `threshold`, once each."""
        range_counts = counts[:, batch].ravel()
        where = _concat_ranges(starts[:, batch].ravel(), range_counts)
        # Ranges are probe-major and chunk 0's probes come first, so its candidates (row numbers) lead.
        identity = int(range_counts[: plan.identity_probes * len(batch)].sum())
        where[identity:] = self.positions[where[identity:]]
        query_idx = None  # with one query, every candidate is its own: compare against scalars
        if len(batch) > 1:
            local = np.broadcast_to(np.arange(len(batch))[None, :], (len(plan.chunk), len(batch))).ravel()
            query_idx = np.repeat(local, range_counts)
        query_idx, rows, distance = _near(self.words, where, queries[batch], query_idx, threshold)
        return _distinct(batch, query_idx, rows, distance, self.rows)

    def _scan_subset(self, queries: Words, subset: Int64s, threshold: int) -> Matches:
        query_idx, rows, distance = flat.scan(self.words, queries[subset], threshold)
        return subset[query_idx], rows, distance

    def _to_records(self, query_idx: Int64s, rows: Int64s, distance: Int32s) -> Matches:
        """Expands matched rows to their live records' ordinals (a row holds every record of its hash)."""
        records = rows
        if len(self.extra_rows) and len(rows):
            lo = np.searchsorted(self.extra_rows, rows, side="left")
            hi = np.searchsorted(self.extra_rows, rows, side="right")
            extra_counts = (hi - lo).astype(np.int64)
            if extra_counts.any():
                extras = _concat_ranges(lo.astype(np.int64), extra_counts) + self.rows
                records = np.concatenate([rows, extras])
                query_idx = np.concatenate([query_idx, np.repeat(query_idx, extra_counts)])
                distance = np.concatenate([distance, np.repeat(distance, extra_counts)])
        if self.n_dead:
            alive = ~self._is_dead(records)
            query_idx, records, distance = query_idx[alive], records[alive], distance[alive]
        return query_idx, self._ordinals_of(records), distance

    def _is_dead(self, records: Int64s) -> npt.NDArray[np.bool_]:
        bits: npt.NDArray[np.uint8] = (self.dead[records >> 3] >> (records & 7).astype(np.uint8)) & 1
        return bits.astype(bool)

    def _ordinals_of(self, records: Int64s) -> Int64s:
        primary = records < self.rows
        encoded = np.empty(len(records), dtype=np.int64)
        encoded[primary] = self.ords[records[primary]]
        encoded[~primary] = self.extra_ords[records[~primary] - self.rows]
        return encoded + self.ord_base

    def _encode(self, ordinals: Int64s) -> UInt32s | Int64s:
        """Ordinals in this segment's storage encoding; ones it cannot hold are dropped."""
        if self.ords.dtype == np.int64:
            return ordinals
        # Bounds in Python ints: int64 arithmetic near the extremes would wrap into range.
        hi = min(self.ord_base + _UINT32_SPAN - 1, np.iinfo(np.int64).max)
        inside = ordinals[(ordinals >= self.ord_base) & (ordinals <= hi)]
        return (inside - self.ord_base).astype(np.uint32)


def _make_plan(chunking: Chunking, threshold: int, rows: int) -> _Plan:
    """Radii per chunk with sum(radius + 1) > threshold, at least expected work, as a list of probes.

    Raising chunk i's radius from r to r+1 adds C(width, r+1) probes, each costing a table lookup plus the
    rows expected in its bucket; the costs grow with r, so taking the cheapest step each time is optimal.
    """
    widths = [width for _, _, width in chunking.chunks]
    radii = [0] * len(widths)

    def step_cost(chunk: int) -> float:
        return comb(widths[chunk], radii[chunk] + 1) * (1.0 + rows / (1 << widths[chunk]))

    heap = [(step_cost(chunk), chunk) for chunk in range(len(widths))]
    heapq.heapify(heap)
    for _ in range(max(0, threshold + 1 - len(widths))):
        _, chunk = heapq.heappop(heap)
        radii[chunk] += 1
        heapq.heappush(heap, (step_cost(chunk), chunk))
    flips = [_flips(width, radius) for width, radius in zip(widths, radii, strict=True)]
    chunk_of = np.repeat(np.arange(len(widths)), [len(f) for f in flips])
    return _Plan(chunk_of, np.concatenate(flips), len(flips[0]))


def _flips(width: int, radius: int) -> npt.NDArray[np.uint64]:
    """Every mask of `width` bits with at most `radius` bits set."""
    masks = [
        sum(1 << bit for bit in bits)
        for count in range(radius + 1)
        for bits in itertools.combinations(range(width), count)
    ]
    return np.array(masks, dtype=np.uint64)


def _group_order(words: Words, chunking: Chunking) -> Int64s:
    """A row order that sorts by chunk 0 and puts identical hashes next to each other.

    One sort of packed uint64 keys `chunk 0 | mixed bits of the whole hash | row index`: far faster than a
    lexicographic sort of 32-byte rows. Different hashes whose mixed bits collide may interleave with a run of
    duplicates; that only costs a little deduplication, never a wrong answer.
    """
    n = len(words)
    index_bits = max(1, (n - 1).bit_length())
    width = chunking.chunks[0][2]
    mix_bits = 64 - width - index_bits
    mixed = words[:, 0] * _MIX[0]
    for word in range(1, flat.WORDS_PER_HASH):
        mixed ^= words[:, word] * _MIX[word]
    keys = chunking.values(words, 0).astype(np.uint64) << np.uint64(64 - width)
    keys |= (mixed >> np.uint64(64 - mix_bits)) << np.uint64(index_bits)
    keys |= np.arange(n, dtype=np.uint64)
    keys.sort()
    return (keys & np.uint64((1 << index_bits) - 1)).astype(np.int64)


def _first_of_runs(grouped: Words) -> npt.NDArray[np.bool_]:
    """True where a row differs from the one before it (the first of each run of identical hashes)."""
    first = np.ones(len(grouped), dtype=bool)
    if len(grouped) > 1:
        differs = grouped[1:] != grouped[:-1]  # (n-1, 4) bool, contiguous
        first[1:] = differs.view(np.uint32).ravel() != 0
    return first


def _encode_ordinals(primary: Int64s, extra: Int64s) -> tuple[int, UInt32s | Int64s, UInt32s | Int64s]:
    """Ordinals as uint32 offsets from their minimum when the span allows: 4 bytes a record instead of 8."""
    present = [part for part in (primary, extra) if len(part)]
    if not present:
        return 0, primary.astype(np.uint32), extra.astype(np.uint32)
    lo = min(int(part.min()) for part in present)
    hi = max(int(part.max()) for part in present)
    if hi - lo >= _UINT32_SPAN:
        return 0, primary, extra
    return lo, (primary - lo).astype(np.uint32), (extra - lo).astype(np.uint32)


def _chunk_tables(rows: Words, chunking: Chunking) -> tuple[UInt32s, UInt32s]:
    """Per-chunk row orderings (`positions`, chunks 1..) and the `lookup` table (offsets or sorted keys)."""
    u, chunks = len(rows), chunking.chunks
    positions = np.empty((len(chunks) - 1) * u, dtype=np.uint32)
    use_offsets = u >= _OFFSETS_MIN_ROWS or chunking is not NARROW
    table_sizes = [(1 << width) + 1 if use_offsets else u for _, _, width in chunks]
    table_base = np.cumsum([0, *table_sizes])
    lookup = np.zeros(table_base[-1], dtype=np.uint32)

    def fill(chunk: int) -> None:
        values = chunking.values(rows, chunk)
        order = _order_by(values, chunks[chunk][2]) if chunk else None  # rows are already in chunk 0 order
        if order is not None:
            positions[(chunk - 1) * u : chunk * u] = order
        table = lookup[table_base[chunk] : table_base[chunk + 1]]
        if use_offsets:
            table[1:] = np.cumsum(np.bincount(values, minlength=len(table) - 1))
        else:
            ordered = (values if order is None else values[order]).astype(np.uint32)
            table[:] = np.uint32(chunk << _KEY_SHIFT) | ordered

    if u >= _PARALLEL_MIN_ROWS:
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            list(pool.map(fill, range(len(chunks))))
    else:
        for chunk in range(len(chunks)):
            fill(chunk)
    return positions, lookup


def _order_by(values: UInt32s | npt.NDArray[np.uint16], width: int) -> Int64s:
    """A stable ordering of `values` (< 2**width).

    numpy's stable argsort is a radix sort up to 16 bits and a much slower merge sort above, so wider values
    take two radix passes, low bits first.
    """
    if width <= 16:
        return np.argsort(values.astype(np.uint16, copy=False), kind="stable")
    low_bits = width - 16
    order = np.argsort((values & np.uint32((1 << low_bits) - 1)).astype(np.uint8), kind="stable")
    high = (values >> np.uint32(low_bits)).astype(np.uint16)
    ordered: Int64s = order[np.argsort(high[order], kind="stable")]
    return ordered


def _near(
    words: Words, rows: Int64s, queries: Words, query_idx: Int64s | None, threshold: int
) -> tuple[Int64s, Int64s, Int64s]:
    """The candidate (query, row) pairs within `threshold`; `query_idx` None when there is just one query.

    Each candidate row is a cache miss, so rows are gathered whole, once. The distance is then summed one
    64-bit word at a time, dropping pairs already over the threshold: a random pair differs in ~32 bits per
    word, so about half survive the first word and almost none the second. Partial sums stay < 256 (uint8).
    """
    candidates = np.take(words, rows, axis=0)
    query_words = np.ascontiguousarray(queries.T)
    survivors = np.arange(len(rows))
    distance = np.zeros(len(rows), dtype=np.uint8)
    for word in range(flat.WORDS_PER_HASH):
        column = candidates[:, word] if word == 0 else candidates[survivors, word]
        if query_idx is None:
            other: npt.NDArray[np.uint64] | np.uint64 = query_words[word, 0]
        else:
            other = query_words[word][query_idx[survivors]]
        distance += np.bitwise_count(column ^ other)
        near = np.flatnonzero(distance <= threshold)
        survivors, distance = survivors[near], distance[near]
    owners = np.zeros(len(survivors), np.int64) if query_idx is None else query_idx[survivors]
    return owners, rows[survivors], distance.astype(np.int64)


def _distinct(batch: Int64s, local: Int64s, rows: Int64s, distance: Int64s, n_rows: int) -> Matches:
    """One of each (query, row): a near hash usually turns up in several chunks.

    Repeats have equal distances, so packed `query | row | distance` keys are sorted and repeats dropped; in
    uint32 when they fit, which sorts twice as fast. (`np.unique` on integers is several times slower still.)
    """
    row_bits = max(1, (n_rows - 1).bit_length())
    shift = row_bits + 7  # distance <= 64 < 2**7
    packed = (local.astype(np.uint64) << np.uint64(shift)) | (rows.astype(np.uint64) << np.uint64(7))
    packed |= distance.astype(np.uint64)
    if max(1, (len(batch) - 1).bit_length()) + shift <= 32:
        packed = np.sort(packed.astype(np.uint32)).astype(np.uint64)
    else:
        packed.sort()
    if len(packed) > 1:
        packed = packed[np.concatenate(([True], packed[1:] != packed[:-1]))]
    query_idx = batch[(packed >> np.uint64(shift)).astype(np.int64)]
    rows = ((packed >> np.uint64(7)) & np.uint64((1 << row_bits) - 1)).astype(np.int64)
    return query_idx, rows, (packed & np.uint64(0x7F)).astype(np.int32)


def _batches(selected: Int64s, per_query: Int64s, budget: int) -> list[Int64s]:
    """Splits `selected` queries into runs whose candidate counts sum to about `budget` each."""
    if len(selected) == 0:
        return []
    sizes = per_query[selected]
    if len(selected) <= _MAX_BATCH_QUERIES and int(sizes.sum()) <= budget:
        return [selected]
    group = (np.cumsum(sizes) - sizes) // budget
    group += np.arange(len(selected)) // _MAX_BATCH_QUERIES
    return np.split(selected, np.flatnonzero(np.diff(group)) + 1)


def _concat_ranges(starts: Int64s, counts: Int64s) -> Int64s:
    """`concatenate([arange(s, s + c) for s, c in zip(starts, counts)])` without the Python loop."""
    total = int(counts.sum())
    ends = np.cumsum(counts)
    shifts: Int64s = np.repeat(starts - (ends - counts), counts)
    return np.arange(total, dtype=np.int64) + shifts


def concat_matches(parts: list[Matches]) -> Matches:
    if not parts:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int32)
    if len(parts) == 1:
        return parts[0]
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
    )
