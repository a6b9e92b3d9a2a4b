"""Shared helpers of the PDQ index tests: planting hashes at exact distances, clustered hashes (low-texture,
families, sparse), reading results as sets, and running a module on both code paths (kernel and numpy)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from unittest.mock import patch

import numpy as np
import numpy.typing as npt
import pytest

from node.index import flat
from node.index.pdq import PdqIndex

Hashes = npt.NDArray[np.uint8]
# Flat and striped 16-bit rows of the PDQ bit matrix, as low-texture images have them.
PALETTE = np.array([0x0000, 0xFFFF, 0x5555, 0xAAAA, 0x3333, 0xCCCC, 0x0F0F, 0xF0F0], dtype=np.uint16)


@pytest.fixture(scope="module", params=["kernel", "numpy"], autouse=True)
def code_path(request: pytest.FixtureRequest) -> Iterator[str]:
    """Runs every test of a module that imports this twice: with the compiled kernel, then with numpy alone."""
    if request.param == "kernel" and flat.CompiledTable is None:
        pytest.skip("the compiled kernel is not built (pip install -e . or python setup.py build_ext --inplace)")
    with patch.object(flat, "USE_KERNEL", request.param == "kernel"):
        yield request.param


def pdq_data_dir() -> Path:
    """`shared/data/pdq` beside the repository or any directory above it (a git worktree sits deeper); the
    expected place beside the repository when there is none, for the skip message."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "shared/data/pdq/haystack.txt").exists():
            return parent / "shared/data/pdq"
    return here.parents[2] / "shared/data/pdq"


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


def low_texture(rng: np.random.Generator, n: int, flat_chunks: float = 0.75) -> Hashes:
    """Hashes whose 16-bit chunks are mostly `PALETTE` values (crowding a few buckets of every chunk)."""
    chunks = rng.integers(0, 1 << 16, size=(n, 16), dtype=np.uint16)
    palette = rng.random((n, 16)) < flat_chunks
    chunks[palette] = PALETTE[rng.integers(0, len(PALETTE), int(palette.sum()))]
    return np.ascontiguousarray(chunks).view(np.uint8).reshape(n, 32)


def family(rng: np.random.Generator, seed: Hashes, n: int, max_bits: int) -> Hashes:
    """`n` near-duplicates of `seed`, each 0..max_bits bits away."""
    members = [at_distance(rng, seed, int(rng.integers(0, max_bits + 1))) for _ in range(n)]
    return np.stack(members) if members else np.empty((0, 32), np.uint8)


def sparse(rng: np.random.Generator, n: int, density: float = 0.16) -> Hashes:
    """Hashes with few bits set: every bit order crowds them into a few chunk values (0x0000 most), and at this
    density two of them still differ in ~69 bits: unrelated, though crowded."""
    return np.packbits(rng.random((n, 256)) < density, axis=1)
