"""Crowded buckets, found at build time, and the tables a segment's rows are split into because of them.

Multi-index hashing checks every row in every bucket a query probes. On uniform hashes a bucket holds
rows / 2**width of them; on real collections some chunk values are far more common (low-texture images: flat
and striped rows of the bit matrix), and a query that probes such a bucket, usually itself a low-texture image,
compares thousands of unrelated hashes. A bucket is *crowded* when it holds more than `LOAD_FACTOR` times the
mean (and at least `MIN_LOAD` rows) **and** its rows are far apart: the median distance between sampled pairs
exceeds `2 * 31` bits. Two hashes that both match one query are within 62 bits of each other, so in such a
bucket most rows cannot match whatever query probes it. Crowded by near-duplicates (a family of edits of one
image) is fine: a query that reaches that bucket matches most of them, and the kernel re-reads a repeated row
from cache.

Rows of crowded buckets go to a second table chunked in `SCATTERED` bit order, where striped and flat rows no
longer line up with chunks. Rows crowded there too (hashes whose bits are sparse, which no permutation spreads)
go to a third table that every query scans, if there are few of them (at most `FLAT_FRACTION` of the rows);
otherwise they stay where they are. Each table answers exactly for its own rows, so the split never changes a
result, only the work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from node.index.chunking import SCATTERED, Chunking
from node.index.flat import Words

# A bucket is a candidate for crowding above this many times the mean load of its chunk, and this many rows.
LOAD_FACTOR: Final = 8
MIN_LOAD: Final = 32
# Rows sampled per crowded bucket to tell near-duplicates from unrelated hashes (<= MIN_LOAD, so all distinct).
SAMPLE: Final = 16
# Sampled pairs further apart than this (median) make a bucket's rows unrelated: two rows that both match one
# query at threshold 31 are at most 62 bits apart.
SPREAD_BITS: Final = 62
# The scanned table may hold this fraction of a segment's rows at most (and at least `FLAT_MIN_ROWS`).
FLAT_FRACTION: Final = 1 / 256
FLAT_MIN_ROWS: Final = 4096
# Crowded buckets examined at once (each takes SAMPLE * SAMPLE * 32 bytes of pair differences).
_BUCKET_BLOCK: Final = 512

Int64s = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Split:
    """Where a segment's distinct rows go: `order` lists rows table by table (None: all in one table, in the
    order given); each table is given as its chunking (None: scanned) and its row count. Rows of a chunked
    table are in its chunking's bit order."""

    order: Int64s | None
    tables: tuple[tuple[Chunking | None, int], ...]
    words: Words  # the rows in `order`, each in its table's bit order


def split(rows: Words, chunking: Chunking) -> Split:
    """Splits distinct `rows`, sorted by chunk 0 of `chunking`, into up to three tables (see the module)."""
    everything = np.arange(len(rows), dtype=np.int64)
    crowded = crowded_rows(rows, chunking)
    if not crowded.any():
        return Split(None, ((chunking, len(rows)),), rows)
    moved = everything[crowded]
    scattered = SCATTERED.arrange(rows[moved])
    still = crowded_rows(scattered, SCATTERED)
    scanned = np.empty(0, np.int64)
    if still.any() and still.sum() <= max(FLAT_MIN_ROWS, FLAT_FRACTION * len(rows)):
        scanned, moved, scattered = moved[still], moved[~still], scattered[~still]
    by_chunk0 = np.argsort(SCATTERED.values(scattered, 0), kind="stable")
    moved, scattered = moved[by_chunk0], scattered[by_chunk0]
    kept = everything[~crowded]
    parts = [(chunking, kept, rows[kept]), (SCATTERED, moved, scattered), (None, scanned, rows[scanned])]
    parts = [part for part in parts if len(part[1])]
    return Split(
        np.concatenate([part[1] for part in parts]),
        tuple((part[0], len(part[1])) for part in parts),
        np.concatenate([part[2] for part in parts]),
    )


def crowded_rows(words: Words, chunking: Chunking) -> npt.NDArray[np.bool_]:
    """Rows (in `chunking`'s bit order) that sit in a crowded bucket of some chunk."""
    crowded = np.zeros(len(words), dtype=bool)
    for chunk, (_, _, width) in enumerate(chunking.chunks):
        limit = max(MIN_LOAD, LOAD_FACTOR * len(words) / (1 << width))
        if len(words) <= limit:
            continue  # no bucket can hold more
        values = chunking.values(words, chunk)
        loads = np.bincount(values, minlength=1 << width)
        heavy = np.flatnonzero(loads > limit)
        if len(heavy) == 0:
            continue
        flagged = np.zeros(1 << width, dtype=bool)
        flagged[heavy] = True
        inside = np.flatnonzero(flagged[values])  # rows of heavy buckets, then grouped by value (ascending)
        members = inside[np.argsort(values[inside], kind="stable")]
        counts = loads[heavy]
        flagged[heavy] = _spread_out(words, members, np.cumsum(counts) - counts, counts)
        crowded |= flagged[values]
    return crowded


def _spread_out(words: Words, members: Int64s, starts: Int64s, loads: Int64s) -> npt.NDArray[np.bool_]:
    """For each bucket (its rows are `members[start : start + load]`), whether its sampled rows are far apart."""
    spread = np.zeros(len(starts), dtype=bool)
    upper = np.triu_indices(SAMPLE, k=1)
    steps = np.arange(SAMPLE, dtype=np.int64)
    for first in range(0, len(starts), _BUCKET_BLOCK):
        block = slice(first, first + _BUCKET_BLOCK)
        picks = members[starts[block, None] + steps[None, :] * loads[block, None] // SAMPLE]  # (b, SAMPLE)
        sampled = words[picks]  # (b, SAMPLE, 4)
        pairs = np.bitwise_count(sampled[:, :, None, :] ^ sampled[:, None, :, :]).sum(axis=-1, dtype=np.int32)
        spread[block] = np.median(pairs[:, upper[0], upper[1]], axis=1) > SPREAD_BITS
    return spread
