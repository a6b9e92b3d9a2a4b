"""compare_features: vPDQ's match percentages by brute force, the oracle of the table in docs/video.md.

Named cases pin each part of the rule; a property test checks it against python-threatexchange's own brute-force
matcher (match_VPDQ_hash_brute) on random feature lists.
"""

from __future__ import annotations

import random

import pytest
from conftest import require_vpdq
from hypothesis import given, settings
from hypothesis import strategies as st

from node.core.vpdq import FRAME_DISTANCE, QUALITY_FLOOR, VpdqFeatures, VpdqFrame, compare_features

BASE = bytes(range(32))


def flipped(bits: int, base: bytes = BASE) -> bytes:
    """`base` with its first `bits` bits inverted: exactly `bits` away."""
    value = int.from_bytes(base, "big") ^ (((1 << bits) - 1) << (256 - bits))
    return value.to_bytes(32, "big")


def features(*frames: tuple[bytes, int]) -> VpdqFeatures:
    """A feature list of (pdq, quality) frames, one a second."""
    return VpdqFeatures.create(
        (VpdqFrame(pdq, quality, i * 30, i * 1000) for i, (pdq, quality) in enumerate(frames)), 1000
    )


def test_identical_videos_match_fully() -> None:
    video = features((BASE, 100), (flipped(100), 90))
    assert compare_features(video, video) == (100.0, 100.0)


@pytest.mark.parametrize(("bits", "matched"), [(FRAME_DISTANCE, True), (FRAME_DISTANCE + 1, False)])
def test_a_frame_matches_within_the_frame_distance_inclusive(bits: int, matched: bool) -> None:
    expected = (100.0, 100.0) if matched else (0.0, 0.0)
    assert compare_features(features((BASE, 100)), features((flipped(bits), 100))) == expected


def test_percentages_are_of_each_side_own_frames() -> None:
    """Three of the query's four frames have a near frame in the stored video (0-1, 3-1, 100-101: distance 1, 2,
    1; 200 is 50 from 150), two of the stored video's four have one in the query (60 and 150 do not)."""
    query = features((BASE, 100), (flipped(3), 100), (flipped(100), 100), (flipped(200), 100))
    stored = features((flipped(1), 100), (flipped(60), 100), (flipped(150), 100), (flipped(101), 100))
    assert compare_features(query, stored) == (75.0, 50.0)


def test_frames_below_the_quality_floor_are_ignored_on_both_sides() -> None:
    query = features((BASE, 100), (flipped(100), QUALITY_FLOOR - 1))
    stored = features((BASE, QUALITY_FLOOR), (flipped(100), 100))
    # The query's second frame is not counted (so 1 of 1), nor can it match the stored second frame (1 of 2).
    assert compare_features(query, stored) == (100.0, 50.0)


def test_repeated_hashes_count_once() -> None:
    """A still scene repeats the same hash: it weighs as one frame, not as many."""
    query = features((BASE, 100), (BASE, 100), (BASE, 100), (flipped(100), 100))
    stored = features((BASE, 100))
    assert compare_features(query, stored) == (50.0, 100.0)


def test_a_video_without_a_usable_frame_matches_nothing() -> None:
    dark = features((BASE, 0))
    assert compare_features(dark, features((BASE, 100))) == (0.0, 0.0)
    assert compare_features(features((BASE, 100)), dark) == (0.0, 0.0)


@st.composite
def feature_lists(draw: st.DrawFn) -> VpdqFeatures:
    """Frames near a few shared anchors (so that pairs match often), with repeats and low qualities."""
    rng = random.Random(draw(st.integers(0, 2**32)))
    anchors = [bytes(rng.getrandbits(8) for _ in range(32)) for _ in range(3)]
    qualities: dict[bytes, int] = {}
    frames = []
    for _ in range(draw(st.integers(1, 25))):
        anchor = anchors[rng.randrange(len(anchors))]
        pdq = flipped(draw(st.sampled_from([0, 5, 30, 31, 32, 40, 128])), anchor)
        # One quality per hash, as PDQ gives (both come from the same pixels). python-threatexchange's brute
        # matcher drops repeats before the quality floor, its index after: they differ only where one hash has
        # two qualities.
        quality = qualities.setdefault(pdq, draw(st.sampled_from([0, 49, 50, 51, 100])))
        frames.append((pdq, quality))
    return features(*frames)


@settings(max_examples=200, deadline=None)
@given(query=feature_lists(), stored=feature_lists())
def test_agrees_with_python_threatexchange_brute_force(query: VpdqFeatures, stored: VpdqFeatures) -> None:
    require_vpdq()  # python-threatexchange's vpdq extension imports vpdq
    from threatexchange.extensions.vpdq.vpdq_brute_matcher import match_VPDQ_hash_brute
    from threatexchange.extensions.vpdq.vpdq_util import VpdqCompactFeature

    def compact(video: VpdqFeatures) -> list[VpdqCompactFeature]:
        return [VpdqCompactFeature(f.pdq.hex(), f.quality, f.timestamp_ms / 1000) for f in video.frames]

    if not any(f.quality >= QUALITY_FLOOR for f in query.frames) or not any(
        f.quality >= QUALITY_FLOOR for f in stored.frames
    ):
        return  # python-threatexchange divides by zero here; ours answers (0, 0), pinned above
    theirs = match_VPDQ_hash_brute(compact(query), compact(stored), QUALITY_FLOOR, FRAME_DISTANCE)
    assert compare_features(query, stored) == pytest.approx(
        (theirs.query_match_percent, theirs.compared_match_percent)
    )
