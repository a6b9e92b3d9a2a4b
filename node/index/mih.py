"""An immutable multi-index-hashing segment over PDQ hashes (Norouzi, Punjani and Fleet, 2012).

A 256-bit hash is cut into chunks. If two hashes differ in at most t bits and chunk i is probed with radius
r_i (its value and every value within r_i bit flips), then any sum of r_i + 1 over the chunks that exceeds t
guarantees a hit: a hash that escaped every probe would differ in at least r_i + 1 bits in every chunk. The
candidates found are checked exactly. With 16 chunks of 16 bits and radius 1 that is the classic bound,
t <= 31.

Two chunkings of the hash as it is (node/index/chunking.py), chosen by segment size:
- `NARROW`, 16 chunks of 16 bits: a 65,537-entry offsets table per chunk (4 MiB in all), fine from small
  sizes;
- `WIDE`, 12 chunks of 21/21/22 bits per 64-bit word: 128 MiB of offsets, worth it from ~8M hashes, where it
  checks about 7,000 candidates per query at threshold 31 instead of 41,000. Each candidate is a cache miss,
  so this is what keeps a 10M-hash query well under a millisecond.

A segment's rows are split into *tables* at build time (node/index/crowding.py): usually one, in the chunking
above; rows of crowded buckets (low-texture images) go to a second table in `SCATTERED` bit order, and the few
rows no chunking spreads to a third that every query scans. Each table is exact for its own rows, so their
union is. The compiled kernel (node/index/_kernel.c) probes and checks a table when it is built; numpy
otherwise.

Layout (bytes per distinct hash at 10M: 32 + 44 + 13 + 4 = 93, within the 100-byte budget):
- `words`: the distinct hashes, `(u, 4) uint64`, table by table, each table's rows in its chunking's bit order
  and sorted by its chunk 0 so that chunk 0 needs no permutation;
- `positions`: per table, for each other chunk, the table's row numbers ordered by that chunk's value,
  concatenated, uint32;
- `lookup`: per table and chunk, where each chunk value's run starts in `positions` (CSR offsets). Tables
  under 65,536 rows keep sorted `(chunk << 24 | value)` keys instead and binary-search them: offsets would
  dominate;
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
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from math import comb
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from node.index import crowding, flat
from node.index.chunking import CHUNKINGS, NARROW, SCATTERED, WIDE, Chunking
from node.index.flat import Words

MAX_THRESHOLD: Final = 31
"""Largest threshold answered by probing (radius <= 2 per chunk); above it callers scan."""

# Tables with fewer rows are scanned flat: probing has a fixed cost that a scan of a few thousand rows
# undercuts, and every fresh segment (a full delta) starts this small.
MIH_MIN_ROWS: Final = 4096
# Segments of at least this many rows use the wide chunking (its offsets cost 128 MiB, 13 B/hash at 10M).
WIDE_MIN_ROWS: Final = 1 << 23
# Below this many rows, sorted keys (64 B/row) are smaller than a 65,537-entry offsets table per chunk.
_OFFSETS_MIN_ROWS: Final = 1 << 16
# Candidates gathered at once by numpy: small enough that the working arrays stay in cache, bounds memory too.
_CANDIDATE_BATCH: Final = 1 << 17
# A query whose buckets hold more candidates than this fraction of a table's rows scans the table instead:
# reading every row in order is then cheaper than gathering candidates.
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
SCANNED: Final = "scanned"
"""The chunking name a table without chunk tables is saved under."""

Int64s = npt.NDArray[np.int64]
Int32s = npt.NDArray[np.int32]
UInt32s = npt.NDArray[np.uint32]
Matches = tuple[Int64s, Int64s, Int32s]
"""`(query_idx, ordinal or row, distance)`, unsorted."""


__all__ = ["CHUNKINGS", "NARROW", "SCATTERED", "WIDE", "Chunking", "MihSegment", "TableSpec"]


@dataclass(frozen=True)
class TableSpec:
    """One table of a segment, as saved: its chunking (None: scanned), its rows and its `lookup` entries."""

    chunking: Chunking | None
    rows: int
    lookup: int

    def to_json(self) -> dict[str, object]:
        name = SCANNED if self.chunking is None else self.chunking.name
        return {"chunking": name, "rows": self.rows, "lookup": self.lookup}

    @classmethod
    def from_json(cls, saved: object) -> TableSpec:
        """Raises ValueError for anything `to_json` does not write."""
        if not isinstance(saved, dict):
            raise ValueError(f"table: got {saved!r}, want an object")
        name, rows, lookup = saved.get("chunking"), saved.get("rows"), saved.get("lookup")
        if not isinstance(name, str) or (name != SCANNED and name not in CHUNKINGS):
            raise ValueError(f"chunking: got {name!r}, want one of {', '.join([SCANNED, *CHUNKINGS])}")
        if not isinstance(rows, int) or not isinstance(lookup, int) or rows < 0 or lookup < 0:
            raise ValueError(f"table sizes: got rows {rows!r} and lookup {lookup!r}, want counts")
        return cls(None if name == SCANNED else CHUNKINGS[name], rows, lookup)

    @property
    def position_entries(self) -> int:
        return 0 if self.chunking is None else (len(self.chunking.chunks) - 1) * self.rows


@dataclass(frozen=True)
class _Plan:
    """The probes for one threshold: per probe its chunk and the bits flipped, chunk by chunk in order."""

    chunk: npt.NDArray[np.intp]
    flips: npt.NDArray[np.uint64]
    identity_probes: int
    radius: npt.NDArray[np.int32]  # per chunk: its probes cover every value within this many bits
    kernel_arrays: tuple[Int32s, UInt32s, Int32s]  # chunk, flips, radius as the compiled kernel takes them


class _Table:
    """Rows of one table of a segment (`first` is its first row there) and their chunk tables: answers for
    those rows only, with row numbers local to the table."""

    def __init__(self, spec: TableSpec, first: int, words: Words, positions: UInt32s, lookup: UInt32s) -> None:
        self.spec, self.first = spec, first
        self.chunking = spec.chunking
        self.rows = spec.rows
        self.words, self.positions, self.lookup = words, positions, lookup
        chunks = self.chunking.chunks if self.chunking else ()
        self._has_offsets = len(lookup) == sum((1 << width) + 1 for _, _, width in chunks) and len(chunks) > 0
        self._table_base = np.cumsum([0] + [(1 << width) + 1 for _, _, width in chunks[:-1]])
        self._plans: dict[int, _Plan] = {}
        self._compiled: flat.CompiledTable | None = None

    def match(self, queries: Words, threshold: int) -> Matches:
        """`(query_idx, row, distance)` of the table's rows within `threshold` (<= 31), each pair once."""
        if self.chunking is None or self.rows < MIH_MIN_ROWS:
            return self.scan(queries, threshold)
        plan = self._plan(threshold)
        if flat.USE_KERNEL:
            flat_limit = int(_FLAT_FRACTION * self.rows)
            found = self._kernel().match(np.ascontiguousarray(queries), *plan.kernel_arrays, threshold, flat_limit)
            return flat.from_kernel(found)
        arranged = self.chunking.arrange(queries)
        starts, counts = self._probe(arranged, plan)
        per_query = counts.sum(axis=0)
        crowded = per_query > _FLAT_FRACTION * self.rows
        parts = []
        if crowded.any():
            subset = np.flatnonzero(crowded)
            query_idx, rows, distance = flat.scan(self.words, arranged[subset], threshold)
            parts.append((subset[query_idx], rows, distance))
        for batch in _batches(np.flatnonzero(~crowded), per_query, _CANDIDATE_BATCH):
            parts.append(self._check(arranged, batch, starts, counts, plan, threshold))
        return concat_matches(parts)

    def scan(self, queries: Words, threshold: int) -> Matches:
        arranged = queries if self.chunking is None else self.chunking.arrange(queries)
        return flat.scan(self.words, arranged, threshold)

    def candidates(self, queries: Words, threshold: int) -> Int64s:
        if self.chunking is None or self.rows < MIH_MIN_ROWS or threshold > MAX_THRESHOLD:
            return np.full(len(queries), self.rows, np.int64)
        per_query: Int64s = self._probe(self.chunking.arrange(queries), self._plan(threshold))[1].sum(axis=0)
        return np.where(per_query > _FLAT_FRACTION * self.rows, self.rows, per_query)

    def restored_words(self) -> Words:
        return self.words if self.chunking is None else self.chunking.restore(self.words)

    def _kernel(self) -> flat.CompiledTable:
        if self._compiled is None:  # two threads may both make one: equivalent, either will do
            assert self.chunking is not None
            self._compiled = flat.CompiledTable(
                self.words,
                self.positions,
                self.lookup,
                self._has_offsets,
                self.chunking.kernel_chunks,
                self.chunking.sources,
            )
        return self._compiled

    def _plan(self, threshold: int) -> _Plan:
        plan = self._plans.get(threshold)
        if plan is None:
            assert self.chunking is not None
            plan = self._plans[threshold] = _make_plan(self.chunking, threshold, self.rows)
        return plan

    def _probe(self, arranged: Words, plan: _Plan) -> tuple[Int64s, Int64s]:
        """Bucket ranges `(start, count)` shaped `(probe, query)`, for queries in the table's bit order.

        Ranges of chunk 0's probes are row numbers (its table is the identity); the others index `positions`.
        """
        assert self.chunking is not None
        word, shift, mask = self.chunking.columns
        chunk = plan.chunk
        values = (arranged.T[word[chunk]] >> shift[chunk][:, None]) & mask[chunk][:, None]
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
        self, arranged: Words, batch: Int64s, starts: Int64s, counts: Int64s, plan: _Plan, threshold: int
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
        query_idx, rows, distance = _near(self.words, where, arranged[batch], query_idx, threshold)
        return _distinct(batch, query_idx, rows, distance, self.rows)


class MihSegment:
    """Distinct hashes, their ordinals and removal marks, with per-table chunk tables for probing.

    Everything but the `dead` bitmap is immutable after construction, so readers can use a segment while a
    writer marks removals (a reader sees each removal either before or after, never a torn state).
    """

    def __init__(self, arrays: Mapping[str, npt.NDArray[Any]], ord_base: int, tables: Sequence[TableSpec]) -> None:
        """Raises ValueError when the tables do not account for the arrays exactly (a damaged snapshot)."""
        self.words: Words = arrays["words"]
        self.positions: UInt32s = arrays["positions"]
        self.lookup: UInt32s = arrays["lookup"]
        self.ords: UInt32s | Int64s = arrays["ords"]
        self.extra_rows: UInt32s = arrays["extra_rows"]
        self.extra_ords: UInt32s | Int64s = arrays["extra_ords"]
        self.dead: npt.NDArray[np.uint8] = arrays["dead"]
        self.ord_base = ord_base
        self.specs = tuple(tables)
        self.rows = len(self.words)
        self.records = self.rows + len(self.extra_rows)
        self.n_dead = int(np.bitwise_count(self.dead).sum())
        sizes = [(spec.rows, spec.position_entries, spec.lookup) for spec in self.specs]
        if [sum(column) for column in zip(*sizes, strict=True)] != [self.rows, len(self.positions), len(self.lookup)]:
            raise ValueError(f"tables: got {sizes} (rows, positions, lookup), want them to add up to the arrays")
        row, position, entry = (np.cumsum([0, *column]) for column in zip(*sizes, strict=True))
        self.tables = tuple(
            _Table(
                spec,
                int(row[i]),
                self.words[row[i] : row[i + 1]],
                self.positions[position[i] : position[i + 1]],
                self.lookup[entry[i] : entry[i + 1]],
            )
            for i, spec in enumerate(self.specs)
        )

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
            extra_rows, extra_ords = np.empty(0, np.int64), np.empty(0, np.int64)
        else:
            rows, primary = grouped[first], grouped_ords[first]
            extra_rows = np.cumsum(first)[~first] - 1
            extra_ords = grouped_ords[~first]
        split = crowding.split(rows, chunking)
        if split.order is not None:  # rows moved: renumber them, and the extra records pointing at them
            primary = primary[split.order]
            renumbered = np.empty(len(rows), np.int64)
            renumbered[split.order] = np.arange(len(rows))
            by_row = np.argsort(renumbered[extra_rows], kind="stable")
            extra_rows, extra_ords = renumbered[extra_rows][by_row], extra_ords[by_row]
        ord_base, enc_primary, enc_extra = _encode_ordinals(primary, extra_ords)
        specs, positions, lookups, start = [], [], [], 0
        for table_chunking, count in split.tables:
            table_words = split.words[start : start + count]
            start += count
            if table_chunking is None:
                specs.append(TableSpec(None, count, 0))
                continue
            table_positions, table_lookup = _chunk_tables(table_words, table_chunking)
            specs.append(TableSpec(table_chunking, count, len(table_lookup)))
            positions.append(table_positions)
            lookups.append(table_lookup)
        arrays: dict[str, npt.NDArray[Any]] = {
            "words": split.words,
            "positions": _joined(positions),
            "lookup": _joined(lookups),
            "ords": enc_primary,
            "extra_rows": extra_rows.astype(np.uint32),
            "extra_ords": enc_extra,
            "dead": np.zeros((len(rows) + len(extra_rows) + 7) // 8, dtype=np.uint8),
        }
        return cls(arrays, ord_base, specs)

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
        return self._to_records(*self._per_table(queries, threshold, probe=True))

    def scan(self, queries: Words, threshold: int) -> Matches:
        """Live `(query_idx, ordinal, distance)` within any threshold, by reading every row."""
        return self._to_records(*self._per_table(queries, threshold, probe=False))

    def candidates(self, queries: Words, threshold: int) -> Int64s:
        """How many rows each query compares in full: bucket entries probed (a row found in several buckets
        counts each time), or every row of a table it scans."""
        counts = np.zeros(len(queries), np.int64)
        for table in self.tables:
            counts += table.candidates(queries, threshold)
        return counts

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
        """Hash words (as hashed, whatever their table's bit order) and ordinals of every live record."""
        records = np.arange(self.records, dtype=np.int64)
        records = records[~self._is_dead(records)]
        rows = np.where(records < self.rows, records, 0)
        extra = records >= self.rows
        rows[extra] = self.extra_rows[records[extra] - self.rows]
        words = self.words
        if any(table.chunking is not None and table.chunking.sources for table in self.tables):
            words = np.concatenate([table.restored_words() for table in self.tables])
        return np.take(words, rows, axis=0), self._ordinals_of(records)

    def _per_table(self, queries: Words, threshold: int, probe: bool) -> Matches:
        parts = []
        for table in self.tables:
            query_idx, rows, distance = table.match(queries, threshold) if probe else table.scan(queries, threshold)
            parts.append((query_idx, rows + table.first if table.first else rows, distance))
        return concat_matches(parts)

    def _to_records(self, query_idx: Int64s, rows: Int64s, distance: Int32s) -> Matches:
        """Expands matched rows to their live records' ordinals (a row holds every record of its hash)."""
        if len(rows) == 0:
            return _no_matches()
        if flat.USE_KERNEL:
            arrays = (self.extra_rows, self.ords, self.extra_ords, self.dead)
            return flat.from_kernel(flat.compiled_records(query_idx, rows, distance, *arrays, self.ord_base))
        records = rows
        if len(self.extra_rows):
            # In extra_rows' own dtype: a search with int64 keys would convert all of extra_rows each time.
            keys = rows.astype(self.extra_rows.dtype)
            lo = np.searchsorted(self.extra_rows, keys, side="left")
            hi = np.searchsorted(self.extra_rows, keys, side="right")
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
        if len(self.extra_rows) == 0:
            return self.ords[records].astype(np.int64) + self.ord_base
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


def _joined(parts: list[UInt32s]) -> UInt32s:
    if len(parts) == 1:
        return parts[0]  # no copy of the one table's arrays (hundreds of MB at 10M)
    return np.concatenate(parts) if parts else np.empty(0, np.uint32)


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
    flips_array, radius = np.concatenate(flips), np.array(radii, dtype=np.int32)
    kernel_arrays = (chunk_of.astype(np.int32), flips_array.astype(np.uint32), radius)
    return _Plan(chunk_of, flips_array, len(flips[0]), radius, kernel_arrays)


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
    use_offsets = u >= _OFFSETS_MIN_ROWS or max(chunking.widths) > 16
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


def _no_matches() -> Matches:
    return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int32)


def concat_matches(parts: list[Matches]) -> Matches:
    """The parts' matches together (a single query usually has matches in one part at most: no copy then)."""
    found = [part for part in parts if len(part[0])]
    if len(found) <= 1:
        return found[0] if found else parts[0] if parts else _no_matches()
    parts = found
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
    )
