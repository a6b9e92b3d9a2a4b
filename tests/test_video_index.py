"""vPDQ video matching over the shared PDQ index (node/index/video.py): vPDQ's rule, named cases, and the index
path against the brute-force oracle `compare_features` (hypothesis)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.core import vpdq
from node.core.vpdq import VpdqFeatures, VpdqFrame
from node.index.pdq import IndexArgumentError, PdqIndex
from node.index.video import (
    FrameSet,
    TimeRange,
    VideoComparison,
    VideoIndex,
    compare_features,
    frame_keys,
    is_frame_key,
    video_of,
)

GOOD, POOR = 90, 20  # a usable quality and one below the floor (50)


def video(hashes: np.ndarray, quality: list[int] | None = None, interval_ms: int = 1000) -> VpdqFeatures:
    """Frames sampled every `interval_ms`, the i-th at i * interval_ms."""
    qualities = quality if quality is not None else [GOOD] * len(hashes)
    frames = tuple(
        VpdqFrame(bytes(row), q, i, i * interval_ms) for i, (row, q) in enumerate(zip(hashes, qualities, strict=True))
    )
    return VpdqFeatures(frames, interval_ms)


def random_hashes(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 256, (n, 32), dtype=np.uint8)


def flipped(hashes: np.ndarray, bits: int, rng: np.random.Generator) -> np.ndarray:
    """Each hash with exactly `bits` distinct bits flipped."""
    out = hashes.copy()
    for row in out:
        for bit in rng.choice(256, bits, replace=False):
            row[bit // 8] ^= 1 << (bit % 8)
    return out


def indexed(*stored: VpdqFeatures) -> tuple[VideoIndex, dict[int, FrameSet]]:
    frames = {ordinal: FrameSet.of(features) for ordinal, features in enumerate(stored)}
    index = VideoIndex(PdqIndex())
    index.add(frames.items())
    return index, frames


def matched(index: VideoIndex, frames: dict[int, FrameSet], query: VpdqFeatures, q: float = 80, c: float = 0) -> dict[
    int, VideoComparison
]:
    return {m.ordinal: m.comparison for m in index.match(FrameSet.of(query), frames.get, q, c)}


# --- vPDQ's rule, by the oracle ---------------------------------------------------------------------------


def test_identical_videos_match_fully() -> None:
    a = video(random_hashes(np.random.default_rng(1), 20))
    result = compare_features(a, a)
    assert (result.query_match_percent, result.compared_match_percent) == (100.0, 100.0)
    assert result.query_ranges == result.stored_ranges == (TimeRange(0, 20_000),)


def test_a_frame_matches_within_distance_31_and_not_at_32() -> None:
    rng = np.random.default_rng(2)
    base = random_hashes(rng, 1)
    assert compare_features(video(flipped(base, 31, rng)), video(base)).query_matched == 1
    assert compare_features(video(flipped(base, 32, rng)), video(base)).query_matched == 0


def test_frames_below_the_quality_floor_are_ignored_on_both_sides() -> None:
    rng = np.random.default_rng(3)
    hashes = random_hashes(rng, 10)
    query = video(hashes, [GOOD] * 5 + [POOR] * 5)
    stored = video(hashes, [POOR] * 2 + [GOOD] * 8)
    result = compare_features(query, stored)
    # query usable: frames 0-4; stored usable: 2-9; shared usable: 2-4
    assert (result.query_matched, result.query_frames) == (3, 5)
    assert (result.compared_matched, result.compared_frames) == (3, 8)


def test_repeated_frames_count_once_but_their_times_are_all_in_the_ranges() -> None:
    rng = np.random.default_rng(4)
    a, b = random_hashes(rng, 2)
    still = np.array([a, a, a, a, b])  # a still shot, then a cut
    result = compare_features(video(np.array([a])), video(still))
    assert (result.compared_matched, result.compared_frames) == (1, 2)
    assert result.compared_match_percent == 50.0
    assert result.stored_ranges == (TimeRange(0, 4000),)


def test_a_first_half_cut_matches_all_of_itself_and_half_of_the_original() -> None:
    rng = np.random.default_rng(5)
    original = random_hashes(rng, 40)
    cut = flipped(original[:20], 6, rng)
    result = compare_features(video(cut), video(original))
    assert (result.query_match_percent, result.compared_match_percent) == (100.0, 50.0)
    assert result.query_ranges == result.stored_ranges == (TimeRange(0, 20_000),)


def test_ranges_bridge_short_gaps_and_split_at_long_ones() -> None:
    rng = np.random.default_rng(6)
    stored = random_hashes(rng, 30)
    # Frames 0-4 and 7-9 match (two misses bridged), then 20-24 (ten missing: a new range).
    picked = [0, 1, 2, 3, 4, 7, 8, 9, 20, 21, 22, 23, 24]
    result = compare_features(video(stored[picked]), video(stored))
    assert result.stored_ranges == (TimeRange(0, 10_000), TimeRange(20_000, 25_000))


def test_every_frame_features_take_the_frame_spacing_as_the_interval() -> None:
    rng = np.random.default_rng(7)
    hashes = random_hashes(rng, 6)
    frames = tuple(VpdqFrame(bytes(h), GOOD, i, i * 40) for i, h in enumerate(hashes))  # 25 frames/s, every frame
    features = VpdqFeatures(frames, 0)
    assert FrameSet.of(features).step_ms == 40
    assert compare_features(features, features).stored_ranges == (TimeRange(0, 240),)


def test_a_video_without_usable_frames_has_no_share() -> None:
    rng = np.random.default_rng(8)
    poor = video(random_hashes(rng, 3), [POOR] * 3)
    result = compare_features(poor, poor)
    assert (result.query_frames, result.query_match_percent) == (0, 0.0)
    assert not result.matches(0, 0)


def test_a_stored_records_value_reads_as_its_features_do() -> None:
    rng = np.random.default_rng(9)
    hashes = random_hashes(rng, 8)
    hashes[4] = hashes[0]  # a repeated frame
    features = VpdqFeatures.create(
        [VpdqFrame(bytes(h), q, 2 * i, 500 * i) for i, (h, q) in enumerate(zip(hashes, [GOOD, POOR] * 4, strict=True))],
        500,
    )
    a, b = FrameSet.of(features), FrameSet.from_value(features.encode())
    assert a.hashes.tobytes() == b.hashes.tobytes()
    assert a.rank_of_frame.tolist() == b.rank_of_frame.tolist() == [0, -1, 1, -1, 0, -1, 2, -1]
    assert a.timestamps_ms.tolist() == b.timestamps_ms.tolist()
    assert a.step_ms == b.step_ms == 500


# --- the index path --------------------------------------------------------------------------------------


def test_an_edited_copy_matches_its_original_and_nothing_else() -> None:
    rng = np.random.default_rng(10)
    originals = [random_hashes(rng, 30) for _ in range(5)]
    index, frames = indexed(*(video(h) for h in originals))
    found = matched(index, frames, video(flipped(originals[2], 8, rng)))
    assert list(found) == [2]
    assert found[2].query_match_percent == 100.0


def test_thresholds_decide_on_both_percentages() -> None:
    rng = np.random.default_rng(11)
    original = random_hashes(rng, 20)
    query = np.concatenate([original[:8], random_hashes(rng, 2)])  # 80 % of the query, 40 % of the original
    index, frames = indexed(video(original))
    assert list(matched(index, frames, video(query), 80, 0)) == [0]
    assert list(matched(index, frames, video(query), 81, 0)) == []
    assert list(matched(index, frames, video(query), 80, 40)) == [0]
    assert list(matched(index, frames, video(query), 80, 41)) == []


def test_at_threshold_zero_one_shared_frame_is_a_match_and_none_is_not() -> None:
    rng = np.random.default_rng(12)
    original = random_hashes(rng, 20)
    index, frames = indexed(video(original))
    query = np.concatenate([original[:1], random_hashes(rng, 30)])
    assert matched(index, frames, video(query), 0, 0)[0].query_matched == 1
    assert matched(index, frames, video(random_hashes(rng, 30)), 0, 0) == {}


def test_removed_videos_stop_matching_and_others_stay() -> None:
    rng = np.random.default_rng(13)
    shared = random_hashes(rng, 10)
    index, frames = indexed(video(shared), video(shared))
    index.remove([(0, frames[0])])
    assert list(matched(index, frames, video(shared))) == [1]


def test_video_frames_and_images_share_one_index_and_are_told_apart() -> None:
    rng = np.random.default_rng(14)
    hashes = random_hashes(rng, 4)
    pdq = PdqIndex()
    pdq.add(np.array([7]), hashes[:1])  # an image record, store ordinal 7
    index = VideoIndex(pdq)
    index.add([(9, FrameSet.of(video(hashes)))])
    _, keys, _ = pdq.query(hashes[:1], 0)
    assert sorted(keys.tolist()) == sorted([7, int(frame_keys(9, 4)[0])])
    assert is_frame_key(keys).tolist() == [k != 7 for k in keys.tolist()]
    assert video_of(keys[is_frame_key(keys)]).tolist() == [9]
    found = index.match(FrameSet.of(video(hashes)), {9: FrameSet.of(video(hashes))}.get)
    assert [m.ordinal for m in found] == [9]


def test_a_query_without_usable_frames_is_refused() -> None:
    index, frames = indexed()
    query = FrameSet.of(video(random_hashes(np.random.default_rng(15), 3), [POOR] * 3))
    with pytest.raises(IndexArgumentError, match="frames"):
        index.match(query, frames.get)


@pytest.mark.parametrize("percent", [-1, 100.5, float("nan")])
def test_thresholds_out_of_range_are_refused(percent: float) -> None:
    index, frames = indexed()
    query = FrameSet.of(video(random_hashes(np.random.default_rng(16), 3)))
    with pytest.raises(IndexArgumentError, match="query_match_percent"):
        index.match(query, frames.get, percent, 0)


def test_a_candidate_that_no_longer_matches_is_skipped() -> None:
    rng = np.random.default_rng(17)
    original = random_hashes(rng, 10)
    index, _ = indexed(video(original))
    assert index.match(FrameSet.of(video(original)), lambda ordinal: None) == []


# --- the index path agrees with the oracle ---------------------------------------------------------------


@st.composite
def collections(draw: st.DrawFn) -> tuple[list[VpdqFeatures], VpdqFeatures, float, float]:
    """Stored videos and a query drawn from a small pool of base frames, each frame a few to ~40 bits from its
    base (so pairs fall on both sides of 31), with repeats, poor frames and a threshold pair."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    pool = random_hashes(rng, draw(st.integers(1, 12)))

    def one(frames: int) -> VpdqFeatures:
        base = pool[rng.integers(0, len(pool), frames)]
        hashes = np.array([flipped(row[None], int(rng.choice([0, 3, 20, 30, 31, 32, 40])), rng)[0] for row in base])
        quality = [int(q) for q in rng.choice([GOOD, 60, 50, 49, POOR], frames, p=[0.5, 0.2, 0.1, 0.1, 0.1])]
        return video(hashes, quality)

    stored = [one(draw(st.integers(1, 25))) for _ in range(draw(st.integers(1, 6)))]
    query = one(draw(st.integers(1, 40)))
    q = draw(st.sampled_from([0.0, 10.0, 50.0, 80.0, 100.0]))
    c = draw(st.sampled_from([0.0, 30.0, 80.0]))
    return stored, query, q, c


@settings(deadline=None, max_examples=150)
@given(collections())
def test_the_index_path_gives_the_oracles_verdicts_percentages_and_ranges(
    drawn: tuple[list[VpdqFeatures], VpdqFeatures, float, float],
) -> None:
    stored, query, q, c = drawn
    if len(FrameSet.of(query)) == 0:
        return
    index, frames = indexed(*stored)
    expected = {}
    for ordinal, features in enumerate(stored):
        comparison = compare_features(query, features)
        # The oracle's percentages are also those of node.core.vpdq's brute force (checked against
        # python-threatexchange's own matcher in tests/test_video_compare.py).
        percents = (comparison.query_match_percent, comparison.compared_match_percent)
        assert percents == vpdq.compare_features(query, features)
        if comparison.matches(q, c):
            expected[ordinal] = comparison
    assert matched(index, frames, query, q, c) == expected


# --- Meta's reference hashes of the sample videos --------------------------------------------------------

REFERENCE = Path(__file__).resolve().parents[2] / "shared/data/video/vpdq"


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="shared/data/video is not beside the checkout")
def test_on_metas_reference_hashes_the_index_path_gives_the_oracles_percentages_for_every_pair() -> None:
    """Every frame of the 16 sample videos as Meta hashed them (~14,000 frames): each video asked of all of
    them at thresholds 0/0, every pair sharing a frame compared as the oracle compares it."""
    from node.cli.match_cmd import read_features

    videos = {path.stem: read_features(path) for path in sorted(REFERENCE.glob("*.txt")) if "128x128" not in path.stem}
    names = sorted(videos)
    index, frames = indexed(*(videos[name] for name in names))
    for name in names:
        found = matched(index, frames, videos[name], 0, 0)
        expected = {}
        for ordinal, other in enumerate(names):
            comparison = compare_features(videos[name], videos[other])
            if comparison.matches(0, 0):
                expected[ordinal] = comparison
        assert found == expected, name
    chair = names.index("chair-orig-22-sd-bar")
    assert found_percent(index, frames, videos["chair-22-sd-sepia-bar"], chair) >= 80


def found_percent(index: VideoIndex, frames: dict[int, FrameSet], query: VpdqFeatures, ordinal: int) -> float:
    return matched(index, frames, query, 0, 0)[ordinal].query_match_percent
