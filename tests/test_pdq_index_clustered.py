"""PdqIndex on clustered data against the brute-force oracle: crowded buckets split into tables (scattered bit
order, scanned), near-duplicate families kept in place, planted distances at the edge, updates, snapshots."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pytest
from index_helpers import (
    Hashes,
    at_distance,
    code_path,  # noqa: F401 (autouse fixture: every test runs with the kernel, then numpy)
    family,
    found,
    low_texture,
    sparse,
)

from node.index import crowding, flat, mih, pdq
from node.index.chunking import NARROW, SCATTERED
from node.index.pdq import MAX_THRESHOLD, PdqIndex, hamming_bruteforce

EDGE = (0, 1, 30, 31, 32)


@pytest.fixture(autouse=True, scope="module")
def probe_even_small_segments() -> Iterator[None]:
    """Tables under MIH_MIN_ROWS are scanned; these small indexes are here to exercise probing."""
    with patch.object(mih, "MIH_MIN_ROWS", 0):
        yield


def expected(db: Hashes, ordinals: list[int], queries: Hashes, threshold: int) -> list[set[int]]:
    return [{ordinals[row] for row in rows} for rows in hamming_bruteforce(db, queries, threshold)]


def table_kinds(index: PdqIndex) -> list[list[str]]:
    return [[t.chunking.name if t.chunking else "scanned" for t in s.tables] for s in index._state.segments]


def clustered(rng: np.random.Generator) -> Hashes:
    """Low-texture hashes (crowded buckets), sparse ones (crowded in every bit order), two near-duplicate
    families of 150 sharing chunk values, uniform hashes. Rows 0, 1500, 2500, 2650, 3000 start each kind."""
    seeds = rng.integers(0, 256, size=(2, 32), dtype=np.uint8)
    return np.concatenate(
        [
            low_texture(rng, 1500),
            sparse(rng, 1000),
            family(rng, seeds[0], 150, 12),
            family(rng, seeds[1], 150, 12),
            rng.integers(0, 256, size=(2000, 32), dtype=np.uint8),
        ]
    )


def edge_queries(rng: np.random.Generator, db: Hashes, picks: list[int]) -> tuple[Hashes, Hashes]:
    """Queries (stored rows with a few bits changed) and hashes planted at each EDGE distance from them."""
    queries = np.stack([at_distance(rng, db[row], 3) for row in picks])
    planted = np.stack([at_distance(rng, query, d) for query in queries for d in EDGE])
    return queries, planted


def test_crowded_rows_are_split_into_scattered_and_scanned_tables() -> None:
    """Guards the tests below against vacuity: clustered data does make all three kinds of table."""
    index = PdqIndex.build(np.arange(4800), clustered(np.random.default_rng(1)))
    assert table_kinds(index) == [["narrow", "scattered", "scanned"]]
    tables = index._state.segments[0].tables
    assert 1000 < tables[1].rows < 2000 and 300 < tables[2].rows < 1000


@pytest.mark.parametrize("threshold", [0, 1, 8, 16, 24, 30, 31, 32, 40, 64])
def test_clustered_data_matches_the_oracle(threshold: int) -> None:
    rng = np.random.default_rng(2)
    db = clustered(rng)
    picks = [0, 1, 1500, 1501, 2500, 2501, 2650, 2700, 3000]  # low-texture, sparse, families, uniform
    queries, planted = edge_queries(rng, db, picks)
    db = np.concatenate([db, planted])
    ordinals = [5 * row - 700 for row in range(len(db))]
    index = PdqIndex.build(np.array(ordinals), db)
    assert len(table_kinds(index)[0]) == 3
    asked = np.concatenate([queries, low_texture(rng, 10), sparse(rng, 5), np.zeros((1, 32), np.uint8)])
    assert found(index, asked, threshold) == expected(db, ordinals, asked, threshold)


def test_every_threshold_up_to_31_on_crowded_buckets() -> None:
    """Hashes that share every chunk value but one or two (0x0000 chunks): each bucket holds them all."""
    rng = np.random.default_rng(3)
    base = np.zeros(32, np.uint8)
    crowd = np.stack([at_distance(rng, base, int(d)) for d in rng.integers(0, 60, 600)])
    queries, planted = edge_queries(rng, crowd, [0, 5, 10])
    db = np.concatenate([crowd, planted, low_texture(rng, 800), rng.integers(0, 256, (1000, 32), np.uint8)])
    ordinals = list(range(len(db)))
    index = PdqIndex.build(np.array(ordinals), db)
    for threshold in range(MAX_THRESHOLD + 1):
        assert found(index, queries, threshold) == expected(db, ordinals, queries, threshold), threshold


def test_planted_distances_come_back_exact_from_every_table() -> None:
    rng = np.random.default_rng(4)
    db = clustered(rng)
    picks = [0, 1500, 2500, 3000]
    queries, planted = edge_queries(rng, db, picks)
    index = PdqIndex.build(np.arange(len(db) + len(planted)), np.concatenate([db, planted]))
    query_idx, ordinals, distances = index.query(queries, 31)
    for q in range(len(picks)):
        hits = dict(zip(ordinals[query_idx == q].tolist(), distances[query_idx == q].tolist(), strict=True))
        for position, d in enumerate(EDGE):
            ordinal = len(db) + q * len(EDGE) + position
            assert hits.get(ordinal) == (d if d <= 31 else None), (q, d)


def test_a_segment_of_crowded_rows_only() -> None:
    """Every row moved out of the main table: row numbers change, ordinals must follow them."""
    rng = np.random.default_rng(16)
    db = low_texture(rng, 400)
    index = PdqIndex.build(np.arange(400) * 3, db)
    assert table_kinds(index) == [["scattered"]]
    queries = np.concatenate([db[:20], np.stack([at_distance(rng, db[i], 31) for i in range(5)])])
    assert found(index, queries, 31) == expected(db, list(range(0, 1200, 3)), queries, 31)


def test_a_family_of_near_duplicates_stays_in_the_main_table() -> None:
    """Its buckets are crowded, but by hashes a query reaching them mostly matches: no reason to move it."""
    rng = np.random.default_rng(5)
    seed = rng.integers(0, 256, 32, dtype=np.uint8)
    db = np.concatenate([family(rng, seed, 400, 10), rng.integers(0, 256, (3000, 32), np.uint8)])
    index = PdqIndex.build(np.arange(len(db)), db)
    assert table_kinds(index) == [["narrow"]]
    query = at_distance(rng, seed, 5)[None, :]
    assert found(index, query, 31) == expected(db, list(range(len(db))), query, 31)


def test_unrelated_hashes_crowding_a_bucket_are_moved() -> None:
    rng = np.random.default_rng(6)
    db = rng.integers(0, 256, (3000, 32), np.uint8)
    db[:100, :2] = 0  # chunk 0 is 0x0000 for 100 otherwise unrelated hashes
    crowded = crowding.crowded_rows(db.view(np.uint64).reshape(-1, 4), NARROW)
    assert crowded[:100].all() and not crowded[100:].any()


def test_the_scattered_order_is_a_permutation_giving_each_chunk_one_bit_of_every_lane() -> None:
    sources = np.frombuffer(SCATTERED.sources or b"", np.uint8).astype(int)
    assert sorted(sources) == list(range(256))
    for chunk in range(16):
        assert sorted(sources[16 * chunk : 16 * chunk + 16] // 16) == list(range(16))
    words = np.random.default_rng(7).integers(0, 2**63, (50, 4), dtype=np.uint64)
    arranged = SCATTERED.arrange(words)
    assert np.array_equal(SCATTERED.restore(arranged), words)
    assert np.array_equal(np.bitwise_count(arranged).sum(axis=1), np.bitwise_count(words).sum(axis=1))


def test_low_texture_hashes_spread_over_scattered_chunks() -> None:
    """What the scattered order is for: palette rows crowd NARROW buckets, not SCATTERED ones."""
    words = low_texture(np.random.default_rng(8), 20000).view(np.uint64).reshape(-1, 4)
    narrow = np.bincount(NARROW.values(words, 3)).max()
    scattered = np.bincount(SCATTERED.values(SCATTERED.arrange(words), 3)).max()
    assert narrow > 1500 and scattered < 20


def test_additions_match_at_once_and_merge_into_split_segments() -> None:
    rng = np.random.default_rng(9)
    db = clustered(rng)
    index = PdqIndex()
    ordinals = list(range(len(db)))
    with patch.object(pdq, "DELTA_MAX", 300):
        for start in range(0, len(db), 97):
            part = db[start : start + 97]
            index.add(np.arange(start, start + len(part)), part)
            stored = start + len(part)
            assert found(index, part[:3], 0) == expected(db[:stored], ordinals[:stored], part[:3], 0)
    assert any(len(kinds) > 1 for kinds in table_kinds(index))  # merged segments were split too
    queries, _ = edge_queries(rng, db, [2, 1502, 2502, 3002])
    for threshold in (0, 20, 31, 45):
        assert found(index, queries, threshold) == expected(db, ordinals, queries, threshold)


def test_removals_from_every_table() -> None:
    rng = np.random.default_rng(10)
    db = clustered(rng)
    index = PdqIndex.build(np.arange(len(db)), db)
    gone = [0, 1, 1500, 1501, 2500, 3000]  # low-texture (scattered), sparse (scanned), family, uniform
    index.remove(np.array(gone))
    kept = [row for row in range(len(db)) if row not in gone]
    queries = np.concatenate([db[gone], db[[2, 1502, 2502]]])
    assert found(index, db[gone], 0) == expected(db[kept], kept, db[gone], 0)
    assert found(index, queries, 31) == expected(db[kept], kept, queries, 31)


def test_duplicates_of_moved_rows_keep_all_their_ordinals() -> None:
    rng = np.random.default_rng(11)
    db = clustered(rng)
    copies = db[[0, 1500, 2660, 3000]]
    index = PdqIndex.build(np.arange(len(db) + 8), np.concatenate([db, copies, copies]))
    n = len(db)
    assert found(index, copies, 0) == [{0, n, n + 4}, {1500, n + 1, n + 5}, {2660, n + 2, n + 6}, {3000, n + 3, n + 7}]
    words, ordinals = index._state.segments[0].live_records()  # merges restore the hashes as given
    restored = {int(o): bytes(w.view(np.uint8)) for o, w in zip(ordinals, words, strict=True)}
    assert restored[n + 1] == bytes(copies[1]) and restored[1500] == bytes(db[1500])


def test_a_split_segment_round_trips_through_save_and_load(tmp_path: Path) -> None:
    rng = np.random.default_rng(12)
    db = clustered(rng)
    index = PdqIndex.build(np.arange(len(db)), db)
    index.remove(np.array([1, 1501]))
    index.save(tmp_path / "pdq")
    manifest = json.loads((tmp_path / "pdq/manifest.json").read_text())
    assert manifest["version"] == 2 and [t["chunking"] for t in manifest["tables"]] == [
        "narrow",
        "scattered",
        "scanned",
    ]
    loaded = PdqIndex.load(tmp_path / "pdq")
    queries = np.concatenate([db[:40], db[1500:1520], db[2500:2510], low_texture(rng, 5)])
    for threshold in (0, 31, 50):
        assert found(loaded, queries, threshold) == found(index, queries, threshold)


def test_a_version_1_snapshot_still_loads(tmp_path: Path) -> None:
    """Written before tables existed: one table, named by its chunking."""
    rng = np.random.default_rng(13)
    db = rng.integers(0, 256, (3000, 32), np.uint8)
    index = PdqIndex.build(np.arange(3000), db)
    index.save(tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    del manifest["tables"]
    (tmp_path / "manifest.json").write_text(json.dumps({**manifest, "version": 1, "chunking": "narrow"}))
    assert found(PdqIndex.load(tmp_path), db[:30], 31) == found(index, db[:30], 31)


@pytest.mark.parametrize(
    "tables",
    [
        [{"chunking": "narrow", "rows": 10, "lookup": 0}],  # rows do not add up
        [{"chunking": "curly", "rows": 3000, "lookup": 48000}],
        [{"chunking": "narrow", "rows": -1, "lookup": 0}],
        [{"chunking": ["narrow"], "rows": 3000, "lookup": 48000}],
        [["narrow", 3000, 48000]],
        "narrow",
    ],
)
def test_a_snapshot_whose_tables_do_not_fit_is_a_value_error(tmp_path: Path, tables: object) -> None:
    rng = np.random.default_rng(14)
    PdqIndex.build(np.arange(3000), rng.integers(0, 256, (3000, 32), np.uint8)).save(tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    (tmp_path / "manifest.json").write_text(json.dumps({**manifest, "tables": tables}))
    with pytest.raises(ValueError):
        PdqIndex.load(tmp_path)


def test_candidates_count_what_queries_compare() -> None:
    """A low-texture query compares about as many rows as a uniform one once crowded rows are moved."""
    rng = np.random.default_rng(15)
    db = np.concatenate([low_texture(rng, 3000), rng.integers(0, 256, (3000, 32), np.uint8)])
    index = PdqIndex.build(np.arange(len(db)), db)
    with patch.object(crowding, "LOAD_FACTOR", 10**9):  # no split: every row in the NARROW table
        unsplit = PdqIndex.build(np.arange(len(db)), db)
    queries = low_texture(rng, 20)
    assert table_kinds(unsplit) == [["narrow"]] and table_kinds(index) == [["narrow", "scattered"]]
    assert index.candidates(queries, 31).max() * 5 < unsplit.candidates(queries, 31).min()
    assert found(index, queries, 31) == found(unsplit, queries, 31)


@pytest.mark.skipif(flat.CompiledTable is None, reason="the compiled kernel is not built")
def test_the_kernel_rejects_arrays_that_do_not_fit() -> None:
    words = np.zeros((10, 4), np.uint64)
    chunks = NARROW.kernel_chunks
    with pytest.raises(ValueError, match="positions or lookup"):
        flat.CompiledTable(words, np.zeros(5, np.uint32), np.zeros(160, np.uint32), False, chunks, None)
    with pytest.raises(ValueError, match="words"):
        flat.CompiledTable(np.zeros((10, 3), np.uint64), None, None, False, None, None)
    with pytest.raises(ValueError, match="keys out of order"):
        flat.CompiledTable(words, np.zeros(150, np.uint32), np.zeros(160, np.uint32), False, chunks, None)
    with pytest.raises(ValueError, match="permutation"):
        flat.CompiledTable(words, None, None, False, None, b"\x00" * 10)


@pytest.mark.skipif(flat.CompiledTable is None, reason="the compiled kernel is not built")
@pytest.mark.parametrize("damage", ["offset past the rows", "position past the rows"])
def test_the_kernel_refuses_tables_pointing_outside_their_rows(damage: str) -> None:
    """A damaged snapshot must raise, never make the kernel read past its arrays."""
    rows = 10
    words = np.zeros((rows, 4), np.uint64)
    lookup = np.zeros(16 * 65537, np.uint32)
    lookup[1:65537] = rows  # every row has chunk 0 == 0
    positions = np.zeros(15 * rows, np.uint32)
    if damage == "offset past the rows":
        lookup[1:65537] = rows + 1
    else:
        lookup[65537 + 1 : 2 * 65537] = rows  # chunk 1: all rows at value 0, found through positions
        positions[3] = rows
    plan = mih._make_plan(NARROW, 31, rows)
    table = flat.CompiledTable(words, positions, lookup, True, NARROW.kernel_chunks, None)
    with pytest.raises(ValueError, match="outside the table"):
        table.match(np.zeros((1, 4), np.uint64), *plan.kernel_arrays, 31, 1000)
