"""Exhaustive Hamming scans over 256-bit hashes held as four uint64 words.

Used where multi-index hashing cannot help: the small delta of fresh additions, thresholds above 31, the few
hashes no chunking spreads (node/index/crowding.py), and queries whose chunk buckets are so crowded that reading
every row beats chasing candidates. The compiled kernel (node/index/_kernel.c) runs the scan when it is built
(AVX-512 where the CPU has it); numpy otherwise.

Hashes are kept as `(n, 4) uint64` views of the 32 hash bytes. Hamming distance does not depend on byte order,
so the native-endian view is used as is; only consistency between stored rows and queries matters.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Words = npt.NDArray[np.uint64]
"""Hashes as `(n, 4) uint64` rows: the 32 bytes of each hash reinterpreted, not converted."""

try:
    from node.index._kernel import Table as CompiledTable
    from node.index._kernel import records as compiled_records
except ImportError:  # the extension was not built (see setup.py): numpy does all the work
    CompiledTable = None  # type: ignore[assignment,misc]
    compiled_records = None  # type: ignore[assignment]

USE_KERNEL = CompiledTable is not None
"""Whether the index runs its loops in the compiled kernel; tests and benchmarks set it False to run numpy's."""

__all__ = [
    "HASH_BYTES",
    "USE_KERNEL",
    "WORDS_PER_HASH",
    "CompiledTable",
    "Words",
    "as_words",
    "compiled_records",
    "from_kernel",
    "scan",
]

HASH_BYTES = 32
WORDS_PER_HASH = 4

# Pairs compared per (queries x rows) block: bounds the temporaries (8 MiB of uint64 differences).
_BLOCK_ELEMENTS = 1 << 20
_MAX_BLOCK_ROWS = 1 << 16


def as_words(hashes: npt.NDArray[np.uint8]) -> Words:
    """Reinterprets `(n, 32) uint8` hash bytes as `(n, 4) uint64` rows (a view when contiguous and aligned).

    Bytes from `np.frombuffer` may sit at any address; unaligned uint64 views work but are slow, so they are
    copied once here.
    """
    words = np.ascontiguousarray(hashes).view(np.uint64).reshape(-1, WORDS_PER_HASH)
    return words if words.flags.aligned else words.copy()


def scan(
    words: Words, queries: Words, threshold: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int32]]:
    """Every (query, row) pair within `threshold`, by exhaustive comparison.

    Returns `(query_idx, row, distance)`; pairs come out grouped by row block, not globally sorted. Rows are
    transposed block by block to word columns so that each numpy pass runs over a long contiguous axis.
    """
    n, m = len(words), len(queries)
    if n == 0 or m == 0:
        return _empty_triple()
    if USE_KERNEL:
        table = CompiledTable(np.ascontiguousarray(words), None, None, False, None, None)
        return from_kernel(table.scan(np.ascontiguousarray(queries), threshold))
    found_q: list[npt.NDArray[np.int64]] = []
    found_r: list[npt.NDArray[np.int64]] = []
    found_d: list[npt.NDArray[np.int32]] = []
    block_rows = min(n, _MAX_BLOCK_ROWS)
    block_queries = max(1, _BLOCK_ELEMENTS // block_rows)
    query_cols = np.ascontiguousarray(queries.T)  # (4, m)
    for r0 in range(0, n, block_rows):
        cols = np.ascontiguousarray(words[r0 : r0 + block_rows].T)  # (4, rows)
        for q0 in range(0, m, block_queries):
            dist = _block_distances(cols, query_cols[:, q0 : q0 + block_queries])
            q_hit, r_hit = np.nonzero(dist <= threshold)
            found_q.append(q_hit.astype(np.int64) + q0)
            found_r.append(r_hit.astype(np.int64) + r0)
            found_d.append(dist[q_hit, r_hit].astype(np.int32))
    return np.concatenate(found_q), np.concatenate(found_r), np.concatenate(found_d)


def from_kernel(
    found: tuple[bytes, bytes, bytes],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int32]]:
    """The kernel's `(query, row, distance)` bytes as arrays (read-only views, no copy)."""
    query_idx, rows, distance = found
    return np.frombuffer(query_idx, np.int64), np.frombuffer(rows, np.int64), np.frombuffer(distance, np.int32)


def _block_distances(cols: Words, query_cols: Words) -> npt.NDArray[np.uint16]:
    """Distances of a `(queries, rows)` block from word-column layouts `(4, rows)` and `(4, queries)`."""
    total = np.zeros((query_cols.shape[1], cols.shape[1]), dtype=np.uint16)
    for word in range(WORDS_PER_HASH):
        diff = np.bitwise_xor(cols[word][None, :], query_cols[word][:, None])
        np.add(total, np.bitwise_count(diff), out=total)
    return total


def _empty_triple() -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int32]]:
    return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int32)
