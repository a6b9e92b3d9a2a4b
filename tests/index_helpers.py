"""Shared helpers of the PDQ index tests: planting hashes at exact distances and reading results as sets."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from node.index.pdq import PdqIndex

Hashes = npt.NDArray[np.uint8]


def at_distance(rng: np.random.Generator, base: Hashes, distance: int) -> Hashes:
    """`base` with exactly `distance` distinct bits flipped."""
    bits = np.unpackbits(base)
    flip = rng.choice(256, size=distance, replace=False)
    bits[flip] ^= 1
    return np.packbits(bits)


def found(index: PdqIndex, queries: Hashes, threshold: int) -> list[set[int]]:
    """Ordinals found per query; each (query, ordinal) must come back once."""
    query_idx, ordinals, _ = index.query(queries, threshold)
    pairs = list(zip(query_idx.tolist(), ordinals.tolist(), strict=True))
    assert len(set(pairs)) == len(pairs), "a (query, ordinal) pair returned twice"
    result: list[set[int]] = [set() for _ in range(len(queries))]
    for q, ordinal in pairs:
        result[q].add(ordinal)
    return result
