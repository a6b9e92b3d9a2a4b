"""Property tests: PdqIndex equals the brute-force oracle on random data, planted matches, updates."""

from __future__ import annotations

from collections.abc import Iterator
from unittest.mock import patch

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from index_helpers import (
    at_distance,
    code_path,  # noqa: F401 (autouse fixture: every test runs with the kernel, then numpy)
    family,
    found,
    low_texture,
    sparse,
)

from node.index import crowding, mih, pdq
from node.index.pdq import MAX_THRESHOLD, PdqIndex, hamming_bruteforce

Hashes = npt.NDArray[np.uint8]


@pytest.fixture(autouse=True, scope="module")
def probe_even_small_segments() -> Iterator[None]:
    """Segments under MIH_MIN_ROWS are scanned flat; these small indexes are here to exercise probing."""
    with patch.object(mih, "MIH_MIN_ROWS", 0):
        yield


def oracle(model: dict[int, Hashes], queries: Hashes, threshold: int) -> list[set[int]]:
    ordinals = list(model)
    if not ordinals:
        return [set() for _ in range(len(queries))]
    db = np.stack([model[o] for o in ordinals])
    return [{ordinals[row] for row in rows} for rows in hamming_bruteforce(db, queries, threshold)]


@settings(deadline=None, max_examples=60)
@given(
    seed=st.integers(0, 2**32 - 1),
    size=st.integers(0, 300),
    planted=st.lists(st.integers(0, 64), max_size=12),
    threshold=st.integers(0, MAX_THRESHOLD),
    low_entropy=st.booleans(),
)
def test_build_then_query_equals_the_oracle(
    seed: int, size: int, planted: list[int], threshold: int, low_entropy: bool
) -> None:
    rng = np.random.default_rng(seed)
    queries = rng.integers(0, 256, size=(3, 32), dtype=np.uint8)
    db = rng.integers(0, 256, size=(size, 32), dtype=np.uint8)
    if low_entropy:  # mostly-zero hashes crowd a few chunk values
        db &= rng.integers(0, 256, size=db.shape, dtype=np.uint8) & rng.integers(
            0, 256, size=db.shape, dtype=np.uint8
        )
    near = [at_distance(rng, queries[i % 3], d) for i, d in enumerate(planted)]
    rows = np.concatenate([db, np.stack(near)]) if near else db
    model = {int(o): rows[i] for i, o in enumerate(rng.permutation(len(rows)) * 7 - 100)}
    index = PdqIndex.build(np.array(list(model), dtype=np.int64), rows)
    assert found(index, queries, threshold) == oracle(model, queries, threshold)


@settings(deadline=None, max_examples=40)
@given(
    seed=st.integers(0, 2**32 - 1),
    sizes=st.tuples(st.integers(0, 500), st.integers(0, 300), st.integers(0, 150), st.integers(0, 300)),
    threshold=st.integers(0, MAX_THRESHOLD),
)
def test_clustered_build_equals_the_oracle(seed: int, sizes: tuple[int, int, int, int], threshold: int) -> None:
    """Low-texture, sparse, a near-duplicate family, uniform: in any mix the split into tables stays exact."""
    rng = np.random.default_rng(seed)
    n_low, n_sparse, n_family, n_uniform = sizes
    parts = [
        low_texture(rng, n_low),
        sparse(rng, n_sparse),
        family(rng, rng.integers(0, 256, 32, dtype=np.uint8), n_family, 16),
        rng.integers(0, 256, size=(n_uniform, 32), dtype=np.uint8),
    ]
    rows = np.concatenate(parts)
    if len(rows) == 0:
        return
    near = [at_distance(rng, rows[rng.integers(len(rows))], int(rng.integers(0, 40))) for _ in range(4)]
    queries = np.concatenate([np.stack(near), low_texture(rng, 2), sparse(rng, 1)])
    model = {int(o): rows[i] for i, o in enumerate(rng.permutation(len(rows)) * 3 - 50)}
    with patch.object(crowding, "MIN_LOAD", 16):  # small data: let buckets count as crowded sooner
        index = PdqIndex.build(np.array(list(model), dtype=np.int64), rows)
    assert found(index, queries, threshold) == oracle(model, queries, threshold)


operation = st.one_of(
    st.tuples(st.just("add"), st.integers(1, 12), st.integers(0, 31)),
    st.tuples(st.just("remove"), st.integers(1, 6), st.integers(0, 31)),
)


@settings(deadline=None, max_examples=40)
@given(seed=st.integers(0, 2**32 - 1), operations=st.lists(operation, min_size=1, max_size=25))
def test_interleaved_adds_and_removes_equal_the_oracle(
    seed: int, operations: list[tuple[str, int, int]]
) -> None:
    """A tiny delta makes additions flow through delta, segment builds, merges and dead-record rebuilds."""
    rng = np.random.default_rng(seed)
    queries = rng.integers(0, 256, size=(3, 32), dtype=np.uint8)
    index, next_ordinal = PdqIndex(), 0
    model: dict[int, Hashes] = {}
    with patch.object(pdq, "DELTA_MAX", 4):
        for kind, count, distance in operations:
            if kind == "add":
                # Near copies of the queries; sometimes a live record's hash again (a duplicate).
                hashes = np.stack([at_distance(rng, queries[rng.integers(3)], distance) for _ in range(count)])
                if model and rng.random() < 0.3:
                    hashes[0] = model[int(rng.choice(list(model)))]
                ordinals = np.arange(next_ordinal, next_ordinal + count)
                next_ordinal += count
                index.add(ordinals, hashes)
                model.update({int(o): h for o, h in zip(ordinals, hashes, strict=True)})
            else:
                candidates = [*model, next_ordinal + 1000]
                gone = rng.choice(candidates, size=min(count, len(candidates)), replace=False)
                index.remove(gone)
                for o in gone.tolist():
                    model.pop(o, None)
            assert len(index) == len(model)
    for threshold in (0, 16, 31, 40):
        assert found(index, queries, threshold) == oracle(model, queries, threshold)


@settings(deadline=None, max_examples=25)
@given(threshold=st.integers(0, mih.MAX_THRESHOLD), rows=st.sampled_from([100, 10**5, 10**7, 10**9]))
def test_probe_plans_satisfy_the_pigeonhole_bound(threshold: int, rows: int) -> None:
    """Exactness of probing rests on sum(radius + 1) > threshold over the chunks."""
    for chunking in mih.CHUNKINGS.values():
        plan = mih._make_plan(chunking, threshold, rows)
        radii = [
            int(np.bitwise_count(plan.flips[plan.chunk == chunk]).max(initial=0))
            for chunk in range(len(chunking.chunks))
        ]
        assert sum(r + 1 for r in radii) > threshold
        assert plan.identity_probes == int((plan.chunk == 0).sum())
