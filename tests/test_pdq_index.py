"""PdqIndex against a brute-force Hamming oracle: real PDQ hashes, planted distances, updates, persistence."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from unittest.mock import patch

import numpy as np
import numpy.typing as npt
import pytest
from index_helpers import (
    at_distance,
    code_path,  # noqa: F401 (autouse fixture: every test runs with the kernel, then numpy)
    found,
    pdq_data_dir,
)

from node.index import mih, pdq
from node.index.pdq import MAX_THRESHOLD, PdqIndex, hamming_bruteforce

DATA = pdq_data_dir()
Hashes = npt.NDArray[np.uint8]
RESULT_DTYPES = [np.dtype(np.int32), np.dtype(np.int64), np.dtype(np.int32)]


def load_hex(name: str) -> Hashes:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"PDQ reference data not found at {path} (shared/data/pdq beside the repository or above it)")
    lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    return np.array([list(bytes.fromhex(line)) for line in lines], dtype=np.uint8)


def random_hashes(rng: np.random.Generator, n: int) -> Hashes:
    return rng.integers(0, 256, size=(n, 32), dtype=np.uint8)


def expected(db: Hashes, ordinals: list[int], queries: Hashes, threshold: int) -> list[set[int]]:
    return [{ordinals[row] for row in rows} for rows in hamming_bruteforce(db, queries, threshold)]


@pytest.fixture(autouse=True, scope="module")
def probe_even_small_segments() -> Iterator[None]:
    """Segments under MIH_MIN_ROWS are scanned flat; these small test indexes are here to exercise probing."""
    with patch.object(mih, "MIH_MIN_ROWS", 0):
        yield


@pytest.fixture(scope="module")
def haystack() -> Hashes:
    return load_hex("haystack.txt")


@pytest.fixture(scope="module")
def needles() -> Hashes:
    return load_hex("needles.txt")


@pytest.mark.parametrize("threshold", [0, 1, 8, 15, 16, 24, 31, 32, 48, 64])
def test_real_hashes_match_the_oracle(haystack: Hashes, needles: Hashes, threshold: int) -> None:
    ordinals = [1000 + 3 * row for row in range(len(haystack))]
    index = PdqIndex.build(np.array(ordinals), haystack)
    queries = np.concatenate([needles, haystack[::7]])
    assert found(index, queries, threshold) == expected(haystack, ordinals, queries, threshold)


def test_small_segments_are_scanned_and_agree(haystack: Hashes, needles: Hashes) -> None:
    ordinals = list(range(len(haystack)))
    with patch.object(mih, "MIH_MIN_ROWS", len(haystack) + 1):
        index = PdqIndex.build(np.array(ordinals), haystack)
        with (
            patch.object(mih._Table, "_probe", side_effect=AssertionError("probed")),
            patch.object(mih._Table, "_kernel", side_effect=AssertionError("probed")),
        ):
            assert found(index, needles, 31) == expected(haystack, ordinals, needles, 31)


def test_real_hashes_have_near_neighbours(haystack: Hashes, needles: Hashes) -> None:
    """Guards the test above against vacuity: the real data has matches between 16 and 31 bits."""
    within = [len(s) for s in hamming_bruteforce(haystack, needles, 31)]
    closer = [len(s) for s in hamming_bruteforce(haystack, needles, 15)]
    assert sum(within) > sum(closer) > 0


def test_real_hashes_added_one_by_one_match_the_oracle(haystack: Hashes, needles: Hashes) -> None:
    """Additions of every size: single records, the flat delta, segments built from it, and their merges."""
    index = PdqIndex()
    with patch.object(pdq, "DELTA_MAX", 64):
        start = 0
        for size in [1, 1, 5, 100, 1, 300, 2, 600] + [1] * 40:
            index.add(np.arange(start, start + size), haystack[start : start + size])
            start += size
        index.add(np.arange(start, len(haystack)), haystack[start:])
    assert len(index._state.segments) < 8  # merged, not one segment per delta
    ordinals = list(range(len(haystack)))
    for threshold in (0, 20, 31, 40):
        assert found(index, needles, threshold) == expected(haystack, ordinals, needles, threshold)


def test_planted_distances_at_the_threshold_edge() -> None:
    rng = np.random.default_rng(7)
    queries = random_hashes(rng, 4)
    planted = {d: np.stack([at_distance(rng, q, d) for q in queries]) for d in (0, 1, 30, 31, 32)}
    db = np.concatenate([random_hashes(rng, 3000), *planted.values()])
    ordinals = np.arange(len(db)) * 10
    index = PdqIndex.build(ordinals, db)
    query_idx, found_ordinals, distances = index.query(queries, 31)
    for q in range(len(queries)):
        mine = query_idx == q
        hits = dict(zip(found_ordinals[mine].tolist(), distances[mine].tolist(), strict=True))
        for position, d in enumerate((0, 1, 30, 31, 32)):
            ordinal = int(ordinals[3000 + position * len(queries) + q])
            if d <= 31:
                assert hits[ordinal] == d
            else:
                assert ordinal not in hits
    assert found(index, queries, 32) == expected(db, ordinals.tolist(), queries, 32)


def test_every_threshold_matches_the_oracle() -> None:
    rng = np.random.default_rng(11)
    queries = random_hashes(rng, 6)
    near = [at_distance(rng, queries[i % 6], d) for i, d in enumerate(range(0, 70, 2))]
    db = np.concatenate([random_hashes(rng, 1500), np.stack(near)])
    ordinals = list(range(len(db)))
    index = PdqIndex.build(np.array(ordinals), db)
    for threshold in range(MAX_THRESHOLD + 1):
        assert found(index, queries, threshold) == expected(db, ordinals, queries, threshold), threshold


def test_results_are_sorted_and_typed() -> None:
    rng = np.random.default_rng(3)
    queries = random_hashes(rng, 5)
    db = np.stack([at_distance(rng, queries[i % 5], d) for i, d in enumerate([5, 3, 3, 9, 0, 12, 3, 7] * 4)])
    index = PdqIndex.build(rng.permutation(len(db)) + 50, db)
    query_idx, ordinals, distances = index.query(queries, 31)
    assert [a.dtype for a in (query_idx, ordinals, distances)] == RESULT_DTYPES
    keys = list(zip(query_idx.tolist(), distances.tolist(), ordinals.tolist(), strict=True))
    assert keys == sorted(keys) and len(keys) == len(db)


def test_identical_hashes_under_different_ordinals_are_all_returned() -> None:
    rng = np.random.default_rng(5)
    base = random_hashes(rng, 3)
    db = np.concatenate([np.repeat(base[:1], 50, axis=0), base[1:], np.repeat(base[1:2], 3, axis=0)])
    ordinals = np.arange(len(db)) + 100
    index = PdqIndex.build(ordinals, db)
    index.add(np.array([900, 901]), np.repeat(base[:1], 2, axis=0))
    assert found(index, base, 0) == [set(range(100, 150)) | {900, 901}, {150, 152, 153, 154}, {151}]
    assert len(index) == len(db) + 2


def test_an_addition_matches_as_soon_as_add_returns() -> None:
    rng = np.random.default_rng(9)
    db = random_hashes(rng, 2000)
    index = PdqIndex.build(np.arange(2000), db)
    fresh = random_hashes(rng, 1)
    assert found(index, fresh, 31) == [set()]
    index.add(np.array([5000]), fresh)
    assert found(index, fresh, 31) == [{5000}]
    assert found(index, at_distance(rng, fresh[0], 31)[None, :], 31) == [{5000}]
    assert len(index) == 2001


def test_removed_ordinals_stop_matching() -> None:
    rng = np.random.default_rng(13)
    db = random_hashes(rng, 500)
    db[10] = db[11] = db[12]  # one shared hash: removals must hit each record, not the hash
    index = PdqIndex.build(np.arange(500), db)
    index.add(np.array([600, 601]), random_hashes(rng, 2))
    index.remove(np.array([11, 600, 12345]))  # 12345 was never added
    assert len(index) == 500
    assert found(index, db[10:11], 0) == [{10, 12}]
    index.remove(np.array([10, 12]))
    assert found(index, db[10:11], 31) == [set()]
    remaining = [o for o in range(500) if o not in (10, 11, 12)]
    assert found(index, db[:40], 31) == expected(db[remaining], remaining, db[:40], 31)
    assert len(index) == 498


def test_removing_most_records_rebuilds_the_segment() -> None:
    rng = np.random.default_rng(17)
    db = random_hashes(rng, 400)
    index = PdqIndex.build(np.arange(400), db)
    before = index.memory_bytes()
    index.remove(np.arange(300))
    assert index.memory_bytes() < before / 2
    assert found(index, db[290:310], 0) == [set()] * 10 + [{o} for o in range(300, 310)]


def test_remove_then_add_the_same_ordinal() -> None:
    rng = np.random.default_rng(19)
    db = random_hashes(rng, 300)
    index = PdqIndex.build(np.arange(300), db)
    replacement = random_hashes(rng, 1)
    index.remove(np.array([7]))
    index.add(np.array([7]), replacement)
    assert found(index, db[7:8], 31) == [set()]
    assert found(index, replacement, 0) == [{7}]
    index.remove(np.array([7]))
    index.add(np.array([7]), db[7:8])
    assert found(index, db[7:8], 0) == [{7}]
    assert len(index) == 300


@pytest.mark.parametrize("threshold", [-1, MAX_THRESHOLD + 1, 31.0, True, "31"])
def test_threshold_out_of_range_is_a_value_error(threshold: object) -> None:
    index = PdqIndex.build(np.arange(1), np.zeros((1, 32), np.uint8))
    with pytest.raises(ValueError, match="threshold"):
        index.query(np.zeros((1, 32), np.uint8), threshold)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ordinals", "hashes"),
    [
        (np.arange(2), np.zeros((2, 31), np.uint8)),
        (np.arange(2), np.zeros((2, 32), np.int64)),
        (np.arange(3), np.zeros((2, 32), np.uint8)),
        (np.zeros((2, 1), np.int64), np.zeros((2, 32), np.uint8)),
        (np.array([0.5, 1.5]), np.zeros((2, 32), np.uint8)),
    ],
)
def test_malformed_additions_are_value_errors_and_change_nothing(
    ordinals: npt.NDArray[np.generic], hashes: npt.NDArray[np.generic]
) -> None:
    index = PdqIndex()
    with pytest.raises(ValueError):
        index.add(ordinals, hashes)
    assert len(index) == 0


def test_an_empty_index_matches_nothing() -> None:
    for index in (PdqIndex(), PdqIndex.build(np.empty(0, np.int64), np.empty((0, 32), np.uint8))):
        query_idx, ordinals, distances = index.query(np.zeros((3, 32), np.uint8), 64)
        assert len(query_idx) == len(ordinals) == len(distances) == 0
        assert [a.dtype for a in (query_idx, ordinals, distances)] == RESULT_DTYPES
        assert len(index) == 0


def test_an_empty_query_returns_empty_arrays() -> None:
    index = PdqIndex.build(np.arange(10), random_hashes(np.random.default_rng(1), 10))
    for threshold in (31, 64):
        query_idx, ordinals, distances = index.query(np.empty((0, 32), np.uint8), threshold)
        assert len(query_idx) == len(ordinals) == len(distances) == 0


def test_crowded_buckets_stay_exact() -> None:
    """Low-entropy hashes (mostly zero bytes) crowd a few chunk values; the flat fallback must stay exact."""
    rng = np.random.default_rng(23)
    sparse = (random_hashes(rng, 3000) & random_hashes(rng, 3000) & random_hashes(rng, 3000)) >> 3
    db = np.concatenate([sparse, random_hashes(rng, 1000)])
    queries = np.concatenate([sparse[:20] ^ np.uint8(1), random_hashes(rng, 5), np.zeros((1, 32), np.uint8)])
    ordinals = list(range(len(db)))
    index = PdqIndex.build(np.array(ordinals), db)
    for threshold in (10, 31):
        assert found(index, queries, threshold) == expected(db, ordinals, queries, threshold)


@pytest.mark.parametrize(
    "ordinals",
    [
        [-(2**63), 2**63 - 1, 0],  # span beyond uint32: stored as int64
        [2**40, 2**40 + 5, 2**40 + 2**32 - 1],  # large base, span just fits uint32
        [-5, -4, -3],
    ],
)
def test_any_int64_ordinals_round_trip(ordinals: list[int]) -> None:
    rng = np.random.default_rng(29)
    db = random_hashes(rng, 3)
    index = PdqIndex.build(np.array(ordinals, dtype=np.int64), db)
    assert found(index, db, 0) == [{o} for o in ordinals]
    index.remove(np.array([ordinals[1], ordinals[1] - 2**32 if ordinals[1] > -(2**62) else 0]))
    assert found(index, db, 0) == [{ordinals[0]}, set(), {ordinals[2]}]


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(31)
    db = random_hashes(rng, 3000)
    db[5] = db[6]
    index = PdqIndex.build(np.arange(3000), db)
    index.add(np.array([7000, 7001]), random_hashes(rng, 2))
    index.remove(np.array([4, 6]))
    index.save(tmp_path / "pdq")
    loaded = PdqIndex.load(tmp_path / "pdq")
    queries = np.concatenate([db[:50], random_hashes(rng, 5)])
    assert len(loaded) == len(index) == 3000
    for threshold in (0, 31, 50):
        assert found(loaded, queries, threshold) == found(index, queries, threshold)
    loaded.remove(np.array([5]))
    loaded.add(np.array([8000]), db[5:6])
    assert found(loaded, db[5:6], 0) == [{8000}]


def test_loading_an_incomplete_directory_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="path"):
        PdqIndex.load(tmp_path)


def test_memory_stays_within_the_per_hash_budget() -> None:
    """At most 100 bytes per distinct hash plus the fixed 4 MiB of chunk offsets (negligible at millions)."""
    rng = np.random.default_rng(37)
    n = 70_000
    index = PdqIndex.build(np.arange(n), random_hashes(rng, n))
    fixed_offsets = 16 * 65537 * 4
    assert index.memory_bytes() <= 97 * n + fixed_offsets


def test_wide_chunking_matches_the_oracle(haystack: Hashes, needles: Hashes) -> None:
    """The 12-chunk layout used from 8M hashes, forced on small data (its offsets tables are fixed-size)."""
    rng = np.random.default_rng(41)
    near = np.stack([at_distance(rng, needles[i], d) for i, d in enumerate(range(0, 64))])
    db = np.concatenate([haystack, near])
    ordinals = list(range(len(db)))
    with patch.object(mih, "WIDE_MIN_ROWS", 0):
        index = PdqIndex.build(np.array(ordinals), db)
    assert index._state.segments[0].tables[0].chunking is mih.WIDE
    for threshold in [*range(0, 32), 40, 64]:
        assert found(index, needles, threshold) == expected(db, ordinals, needles, threshold), threshold


def test_queries_during_updates_always_see_stable_records() -> None:
    """Readers run while a writer adds, merges and removes: records never touched stay visible throughout."""
    rng = np.random.default_rng(43)
    stable = random_hashes(rng, 50)
    index = PdqIndex.build(np.arange(50), stable)
    failures: list[str] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            if found(index, stable, 0) != [{o} for o in range(50)]:
                failures.append("a stable record went missing")

    reader = threading.Thread(target=read)
    reader.start()
    try:
        with patch.object(pdq, "DELTA_MAX", 16):
            for start in range(1000, 3000, 10):
                index.add(np.arange(start, start + 10), random_hashes(rng, 10))
                index.remove(np.arange(start - 500, start - 490))
    finally:
        done.set()
        reader.join()
    assert failures == []
    assert len(index) == 50 + 500


def building_on_a_thread_waits_for(reached: threading.Event, gate: threading.Event) -> object:
    """A stand-in for `MihSegment.build` that holds background merges, once they have read the records they
    merge, until `gate` is set; `reached` tells the test they are there."""
    real = mih.MihSegment.build

    def build(words: npt.NDArray[np.uint64], ordinals: npt.NDArray[np.int64]) -> mih.MihSegment:
        if threading.current_thread().name == "pdq-index-merge":
            reached.set()
            assert gate.wait(30), "the test never released the merge"
        return real(words, ordinals)

    return build


def test_large_merges_run_in_the_background_and_keep_updates_made_meanwhile() -> None:
    rng = np.random.default_rng(47)
    db = random_hashes(rng, 460)
    replacement = random_hashes(rng, 1)
    reached, gate = threading.Event(), threading.Event()
    model = {o: db[o] for o in range(400)}
    with (
        patch.object(pdq, "DELTA_MAX", 50),
        patch.object(pdq, "BACKGROUND_MERGE_MIN", 200),
        patch.object(mih.MihSegment, "build", building_on_a_thread_waits_for(reached, gate)),
    ):
        index = PdqIndex.build(np.arange(300), db[:300])
        index.add(np.arange(300, 400), db[300:400])  # a 100-record segment: 300 + 100 merge on a thread
        assert index._job is not None and len(index._state.segments) == 2
        assert reached.wait(30)
        index.remove(np.array([5, 350, 7]))
        index.add(np.array([7]), replacement)
        index.add(np.arange(400, 460), db[400:460])  # a new segment; its merge waits for the running one
        for o in (5, 350):
            del model[o]
        model[7] = replacement[0]
        model.update({o: db[o] for o in range(400, 460)})
        queries = np.concatenate([db[:460:9], replacement])
        ordinals = list(model)
        stored = np.stack([model[o] for o in ordinals])
        assert found(index, queries, 31) == expected(stored, ordinals, queries, 31)  # before the swap
        gate.set()
        index.wait_for_merges()
    merged = index._state.segments[0]
    assert index._job is None and (merged.records, merged.n_dead) == (400, 3)  # removals made while merging
    assert found(index, queries, 31) == expected(stored, ordinals, queries, 31)  # after it
    assert len(index) == len(model)


def test_a_failed_background_merge_leaves_the_index_answering(caplog: pytest.LogCaptureFixture) -> None:
    rng = np.random.default_rng(53)
    db = random_hashes(rng, 400)

    def broken(*parts: mih.MihSegment) -> mih.MihSegment:
        raise MemoryError("no room to merge")

    with (
        patch.object(pdq, "DELTA_MAX", 50),
        patch.object(pdq, "BACKGROUND_MERGE_MIN", 200),
        patch.object(pdq, "_merged", broken),
    ):
        index = PdqIndex.build(np.arange(300), db[:300])
        index.add(np.arange(300, 400), db[300:400])
        index.wait_for_merges()
    assert "background merge failed" in caplog.text
    assert index._job is None and len(index._state.segments) == 2
    assert found(index, db[::40], 0) == [{o} for o in range(0, 400, 40)]


def test_saving_over_the_directory_it_was_loaded_from(tmp_path: Path) -> None:
    """The loaded index maps those very files: saving must not truncate what it is reading."""
    rng = np.random.default_rng(59)
    db = random_hashes(rng, 200)
    PdqIndex.build(np.arange(200), db).save(tmp_path)
    loaded = PdqIndex.load(tmp_path)
    loaded.save(tmp_path)
    assert found(PdqIndex.load(tmp_path), db[:20], 0) == [{o} for o in range(20)]
    assert found(loaded, db[:20], 0) == [{o} for o in range(20)]
